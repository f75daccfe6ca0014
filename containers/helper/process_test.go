package helper

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/ingo-grader/ingo/containers/helper/contract"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestHugeOutputIsBounded(t *testing.T) {
	const limit = 64 << 10
	tests := []struct {
		name, script string
		cut          []string
	}{
		{"10 MB on stdout", "head -c 10000000 /dev/zero | tr '\\0' a", []string{CutStdout}},
		{"10 MB on stderr", "head -c 10000000 /dev/zero | tr '\\0' b >&2", []string{CutStderr}},
		{"control characters", "head -c 1000000 /dev/zero", []string{CutStdout}},
		{"huge feedback text", "head -c 3000000 /dev/zero | tr '\\0' c | feedback-msg -a", []string{CutText}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newContainer(t, job(nil, limit))
			c.task("run", "#!/bin/bash\n"+tt.script+"\nfeedback-result success\nfeedback-grade 50\n", 0o755)
			r := c.result()
			if r.Result != "success" || r.Grade != 50 {
				t.Errorf("result %q grade %v: the cut must not change them", r.Result, r.Grade)
			}
			if fmt.Sprint(r.Truncated) != fmt.Sprint(tt.cut) {
				t.Errorf("truncated = %v, want %v", r.Truncated, tt.cut)
			}
			for what, s := range map[string]string{"stdout": r.Stdout, "stderr": r.Stderr, "text": r.Text} {
				if jsonLen(s) > limit {
					t.Errorf("%s takes %d bytes in JSON, over %d", what, jsonLen(s), limit)
				}
			}
			cutText := map[string]string{CutStdout: r.Stdout, CutStderr: r.Stderr, CutText: r.Text}[tt.cut[0]]
			if !strings.Contains(cutText, "cut here: over the output limit of 65536 bytes") {
				t.Errorf("no truncation note at the end of %q", cutText[max(0, len(cutText)-200):])
			}
			data, _ := os.ReadFile(c.paths.Result)
			if int64(len(data)) > contract.MaxResultBytes(limit) {
				t.Errorf("result.json is %d bytes, over MaxResultBytes %d", len(data), contract.MaxResultBytes(limit))
			}
		})
	}
}

func TestArchiveOverTheLimitIsDropped(t *testing.T) {
	const limit = 64 << 10
	c := newContainer(t, job(nil, limit))
	c.task("run", `#!/bin/bash
head -c 300000 /dev/urandom > "$INGO_HELPER_ROOT/archive/random.bin"
feedback-result failed
feedback-msg -m kept
`, 0o755)
	r := c.result()
	if r.Archive != "" || fmt.Sprint(r.Truncated) != "[archive]" {
		t.Errorf("archive %d bytes, truncated %v: want it dropped and named", len(r.Archive), r.Truncated)
	}
	if r.Result != "failed" || r.Text != "kept" {
		t.Errorf("result %q text %q changed", r.Result, r.Text)
	}
}

func TestConcurrentAppendsLoseNothing(t *testing.T) {
	c := newContainer(t, job(nil, 1<<20))
	c.task("run", `#!/bin/bash
for i in $(seq 1 20); do
	feedback-msg -a -e -m "line $i\n" &
	feedback-msg -a -i q1 -m "[$i]" &
done
wait
feedback-result success
`, 0o755)
	r := c.result()
	lines := strings.Split(strings.TrimSuffix(r.Text, "\n"), "\n")
	seen := map[string]int{}
	for _, l := range lines {
		seen[l]++
	}
	for i := 1; i <= 20; i++ {
		if seen["line "+strconv.Itoa(i)] != 1 {
			t.Errorf("line %d appears %d times in %q", i, seen["line "+strconv.Itoa(i)], r.Text)
		}
		if strings.Count(r.Problems["q1"].Text, "["+strconv.Itoa(i)+"]") != 1 {
			t.Errorf("[%d] missing from q1's %q", i, r.Problems["q1"].Text)
		}
	}
	if len(lines) != 20 {
		t.Errorf("%d lines, want 20", len(lines))
	}
}

func TestRunFileDiscovery(t *testing.T) {
	ok := "feedback-result success\n"
	tests := []struct {
		name   string
		files  map[string]string // name -> content; "+x:" prefix makes it executable
		runCmd string
		text   string // what the run file wrote to the feedback
	}{
		{name: "run with shebang", files: map[string]string{"run": "+x:#!/bin/sh\nfeedback-msg -m run\n" + ok}, text: "run"},
		{name: "run without exec bit, shebang honoured", files: map[string]string{
			"run": "#!/bin/bash\n[[ -n bash ]] && feedback-msg -m bash-run\n" + ok}, text: "bash-run"},
		{name: "run without exec bit nor shebang: a shell script", files: map[string]string{"run": "feedback-msg -m plain\n" + ok}, text: "plain"},
		{name: "executable without shebang falls back to the shell", files: map[string]string{"run": "+x:feedback-msg -m enoexec\n" + ok}, text: "enoexec"},
		{name: "run.sh with bash-isms, not executable", files: map[string]string{
			"run.sh": "if [[ $BASH_VERSION ]]; then feedback-msg -m bash; fi\n" + ok}, text: "bash"},
		{name: "run before run.sh", files: map[string]string{
			"run": "+x:#!/bin/sh\nfeedback-msg -m first\n" + ok, "run.sh": "feedback-msg -m second\n" + ok}, text: "first"},
		{name: "run.sh before run.py", files: map[string]string{
			"run.sh": "feedback-msg -m sh\n" + ok, "run.py": "raise SystemExit(1)\n"}, text: "sh"},
		{name: "run_cmd overrides", runCmd: "sh other.sh  arg1", files: map[string]string{
			"run": "+x:#!/bin/sh\nfeedback-msg -m run\n", "other.sh": "feedback-msg -m \"other $1\"\n" + ok}, text: "other arg1"},
		{name: "a directory named run is skipped", files: map[string]string{
			"run/x": "", "run.sh": "feedback-msg -m sh\n" + ok}, text: "sh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := job(nil, 1<<20)
			if tt.runCmd != "" {
				in["run_cmd"] = tt.runCmd
			}
			c := newContainer(t, in)
			for name, content := range tt.files {
				mode := os.FileMode(0o644)
				if rest, found := strings.CutPrefix(content, "+x:"); found {
					content, mode = rest, 0o755
				}
				c.task(name, content, mode)
			}
			r := c.result()
			if r.Result != "success" || r.Text != tt.text {
				t.Errorf("got %q %q (stderr %q), want success %q", r.Result, r.Text, r.Stderr, tt.text)
			}
		})
	}
}

func TestPythonRunFile(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3 here")
	}
	c := newContainer(t, job(map[string]any{"q1": "42"}, 1<<20))
	c.task("run.py", `import subprocess
answer = subprocess.run(["getinput", "q1"], capture_output=True, text=True, check=True).stdout
subprocess.run(["feedback-result", "success" if answer == "42" else "failed"], check=True)
subprocess.run(["feedback-msg", "-m", "python says " + answer], check=True)
print("hello from python")
`, 0o644)
	r := c.result()
	if r.Result != "success" || r.Text != "python says 42" || r.Stdout != "hello from python\n" {
		t.Errorf("got %q %q stdout %q stderr %q", r.Result, r.Text, r.Stdout, r.Stderr)
	}
}

func TestTheRunFileEnvironmentIsClean(t *testing.T) {
	c := newContainer(t, job(nil, 1<<20))
	c.task("run", "#!/bin/sh\nenv > env.txt\npwd > pwd.txt\nfeedback-result success\n", 0o755)
	cmd := exec.Command(helperBin, "run")
	cmd.Env = append(c.env(), "SECRET=leak", "JAVA_HOME=/opt/java", PassEnv+"=GORACE JAVA_HOME")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	env := readTask(t, c, "env.txt")
	for _, want := range []string{"HOME=" + c.paths.Task, "LANG=C.UTF-8", "JAVA_HOME=/opt/java", "PATH=" + binDir, OutputLimitEnv + "=1048576"} {
		if !strings.Contains(env, want) {
			t.Errorf("environment lacks %q:\n%s", want, env)
		}
	}
	if strings.Contains(env, "SECRET") {
		t.Errorf("SECRET leaked into the run file's environment")
	}
	if got := strings.TrimSpace(readTask(t, c, "pwd.txt")); got != c.paths.Task {
		t.Errorf("working directory %q, want %q", got, c.paths.Task)
	}
}

// startHelper starts `ingo-helper run` in the background; the run file
// must write "started" into the FIFO task/ready once it is in place.
func startHelper(t *testing.T, c *container) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	fifo := filepath.Join(c.paths.Task, "ready")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helperBin, "run")
	cmd.Env = c.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Opening the FIFO blocks until the run file opens it to write.
	data, err := os.ReadFile(fifo)
	if err != nil || !strings.Contains(string(data), "started") {
		t.Fatalf("reading the FIFO: %q, %v", data, err)
	}
	return cmd, &stderr
}

func TestStopSignalsReachTheRunFile(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			c := newContainer(t, job(nil, 1<<20))
			// bash runs a trap at once only while it waits in the "wait"
			// builtin; with "sleep" in the foreground, a signal arriving
			// before sleep was forked would be held until sleep ended.
			c.task("run", `#!/bin/bash
trap 'feedback-result timeout; feedback-msg -m "stopped by signal"; exit 7' TERM INT
sleep 1000 &
echo started > ready
wait $!
feedback-result success
`, 0o755)
			cmd, stderr := startHelper(t, c)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("helper: %v: %s", err, stderr)
			}
			r := readResult(t, c)
			if r.Result != "timeout" || r.Text != "stopped by signal" || r.ExitCode != 7 {
				t.Errorf("got %q %q exit_code %d", r.Result, r.Text, r.ExitCode)
			}
		})
	}
}

func readResult(t *testing.T, c *container) Result {
	t.Helper()
	data, err := os.ReadFile(c.paths.Result)
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLeftoverProcessesDoNotHoldTheResult(t *testing.T) {
	c := newContainer(t, job(nil, 1<<20))
	pidFile := filepath.Join(c.root, "escaped.pid")
	// One child stays in the run file's group (killed with it); another
	// leaves it with setsid and keeps stdout open: the helper stops
	// waiting for it after the drain grace.
	c.task("run", fmt.Sprintf(`#!/bin/bash
sleep 1000 &
setsid sleep 1000 &
echo $! > %q
feedback-result success
echo done
`, pidFile), 0o755)
	t.Cleanup(func() {
		if data, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	r := c.result()
	if r.Result != "success" || r.Stdout != "done\n" {
		t.Errorf("got %q stdout %q", r.Result, r.Stdout)
	}
}

// TestAsPID1 runs the helper as PID 1 of a new PID namespace, as in a
// container: it must reap orphans and kill every leftover at once (no
// drain grace). It needs root (CAP_SYS_ADMIN) and unshare(1).
func TestAsPID1(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and unshare(1)")
	}
	c := newContainer(t, job(nil, 1<<20))
	c.task("run", `#!/bin/bash
sleep 1000 &
setsid sleep 1000 &
(sleep 1000 &) # an orphan, reparented to PID 1
feedback-result success
echo "helper pid: $PPID"
`, 0o755)
	cmd := exec.Command(unshare, "--pid", "--fork", helperBin, "run")
	cmd.Env = c.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("cannot run in a new PID namespace here: %v: %s", err, out)
	}
	r := readResult(t, c)
	if r.Result != "success" || r.Stdout != "helper pid: 1\n" {
		t.Errorf("got %q stdout %q stderr %q", r.Result, r.Stdout, r.Stderr)
	}
}

// TestPythonRunFile_AsINGInious: a run.py runs as INGInious' does, with
// the names of its API in its globals (run files call set_global_result
// without an import), its folder's modules importable, whatever its mode
// and first line; IPython's syntax where the image has IPython.
func TestPythonRunFile_AsINGInious(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3 here")
	}
	pkg, err := filepath.Abs(filepath.Join("..", "images", "default"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, run string
		mode      os.FileMode
		ipython   bool
	}{
		{"no imports", `set_global_result("success")
set_global_feedback("answer " + get_input("q1"))
`, 0o644, false},
		{"executable, another first line", `#!/usr/bin/env python2
import helper
set_global_result("success")
set_global_feedback(helper.say(get_input("q1")) + " " + __name__ + " " + str(sys_argv_is_file()))
`, 0o755, false},
		{"the __main__ module", `import unittest
class T(unittest.TestCase):
    def test_a(self):
        pass
r = unittest.main(exit=False).result
set_global_result("success")
set_global_feedback("answer " + get_input("q1") + " ran " + str(r.testsRun))
`, 0o644, false},
		{"IPython's syntax", `files = !ls
set_global_result("success")
set_global_feedback("answer " + get_input("q1") + (" ls" if "helper.py" in files else " no ls"))
`, 0o644, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newContainer(t, job(map[string]any{"q1": "42"}, 1<<20))
			env := pythonEnv(c, pkg)
			if tt.ipython {
				probe := exec.Command("/usr/bin/env", "python3", "-c", "import IPython") // python3 of env's PATH
				probe.Env = env
				if probe.Run() != nil {
					t.Skip("no IPython for the python3 of the run file's PATH (the default image has it)")
				}
			}
			c.task("helper.py", "import sys\ndef say(x):\n    return 'answer ' + x\n", 0o644)
			run := strings.Replace(tt.run, "str(sys_argv_is_file())", "str(__import__('sys').argv == [__file__])", 1)
			c.task("run.py", run, tt.mode)
			r := runPython(t, c, env)
			want := map[string]string{"no imports": "answer 42", "executable, another first line": "answer 42 __main__ True",
				"IPython's syntax": "answer 42 ls", "the __main__ module": "answer 42 ran 1"}[tt.name]
			if r.Result != "success" || r.Text != want {
				t.Errorf("got %q %q (stderr %q), want success %q", r.Result, r.Text, r.Stderr, want)
			}
		})
	}
}

// TestPythonUploadsAsINGInious: _load_input() gives an uploaded file's
// "value" as the path of the file, as INGInious does (run files open it
// themselves); get_input still gives its content. Before, the value was
// the job input's base64, which open() took for a missing file.
func TestPythonUploadsAsINGInious(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3 here")
	}
	pkg, err := filepath.Abs(filepath.Join("..", "images", "default"))
	if err != nil {
		t.Fatal(err)
	}
	c := newContainer(t, job(map[string]any{
		"up":  map[string]any{"filename": "main.c", "value": "aW50IG1haW47"}, // "int main;"
		"a/b": map[string]any{"filename": "x", "value": "eA=="},              // no folder of its own: its base64 stays
		"q1":  "42",
	}, 1<<20))
	c.task("run.py", `from inginious import input
data = input._load_input()["input"]
with open(data["up"]["value"], "rb") as f:
    content = f.read().decode()
set_global_result("success")
set_global_feedback("|".join([data["up"]["filename"], content, input.get_input("up").decode(), input.get_input("up:filename"),
    input.get_input("a/b").decode(), data["a/b"]["value"], data["q1"]]))
`, 0o644)
	r := runPython(t, c, pythonEnv(c, pkg))
	if want := "main.c|int main;|int main;|main.c|x|eA==|42"; r.Result != "success" || r.Text != want {
		t.Errorf("got %q %q (stderr %q), want success %q", r.Result, r.Text, r.Stderr, want)
	}
}

// pythonEnv is c's environment for a run file of INGInious' Python API,
// from the image's sources at pkg.
func pythonEnv(c *container, pkg string) []string {
	// No __pycache__ in the image's sources.
	return append(c.env(), "PYTHONPATH="+pkg, "INGO_HELPER="+helperBin, "PYTHONDONTWRITEBYTECODE=1",
		PassEnv+"=GORACE PYTHONPATH INGO_HELPER PYTHONDONTWRITEBYTECODE")
}

// runPython runs the helper on c with env and returns its result.
func runPython(t *testing.T, c *container, env []string) Result {
	t.Helper()
	cmd := exec.Command(helperBin, "run")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var r Result
	data, err := os.ReadFile(c.paths.Result)
	if err != nil || json.Unmarshal(data, &r) != nil {
		t.Fatalf("result %q: %v", data, err)
	}
	return r
}
