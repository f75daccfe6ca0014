package courses

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// Bounds, never measurements: a slow CI machine passes.
const (
	startWait = 2 * time.Minute // ingo up ready, its environments offered
	gradeWait = 4 * time.Minute // every job of a path graded
	python    = "/usr/bin/python3"
	course    = "compat"
)

// A case is one submission and the result INGInious gives it.
type gradingCase struct {
	name   string
	task   string
	inputs map[string]any // the webapp's inputdata; a list is repeated -i for the CLI
	want   result
	has    []string // the text contains each
	// need says what the case needs beyond ingo/env-default ("" for nothing).
	need string
}

// result is what both paths must agree on.
type result struct {
	Status   string
	Grade    float64
	Text     string
	Problems map[string][2]string // id -> status, text (the text: contains)
	Custom   map[string]any       // JSON values
}

var cases = []gradingCase{
	{name: "common run, old task.yaml, right", task: "answer", inputs: map[string]any{"answer": "42"},
		want: result{Status: "success", Grade: 100, Problems: map[string][2]string{"answer": {"success", "Right."}},
			Custom: map[string]any{"answer_length": 2.0}},
		has: []string{"the answer was 42, as the common grader checked"}},
	{name: "common run, old task.yaml, wrong", task: "answer", inputs: map[string]any{"answer": "41"},
		want: result{Status: "failed", Grade: 0, Problems: map[string][2]string{"answer": {"failed", "Not 41."}},
			Custom: map[string]any{"answer_length": 2.0}},
		has: []string{"Try again."}},
	{name: "py_compile, Runner.pyc exits 127, French", task: "pyrunner", inputs: map[string]any{"body": "y = x\nreturn y + x", "@lang": "fr"},
		want: result{Status: "success", Grade: 100, Problems: map[string][2]string{"body": {"success", "Bravo."}},
			Custom: map[string]any{"runner_code": 127.0}},
		has: []string{"Tous les tests sont passés."}},
	{name: "py_compile, a test fails, English", task: "pyrunner", inputs: map[string]any{"body": "return abs(x) * 2", "@lang": "en"},
		want: result{Status: "failed", Grade: 200.0 / 3, Problems: map[string][2]string{"body": {"failed", "Check the negative numbers."}},
			Custom: map[string]any{"runner_code": 1.0}},
		has: []string{"Some tests failed:", "KO double(-4) = 8, not -8"}},
	{name: "py_compile, syntax error, French", task: "pyrunner", inputs: map[string]any{"body": "return 2 *", "@lang": "fr"},
		want: result{Status: "failed", Grade: 0},
		has:  []string{"Ton code ne compile pas :", "SyntaxError"}},
	{name: "C with a Makefile, right", task: "sumc", inputs: map[string]any{"code": "return a + b;"},
		want: result{Status: "success", Grade: 100, Problems: map[string][2]string{"code": {"success", ""}},
			Custom: map[string]any{"passed": 3.0, "cppcheck": "clean"}},
		has: []string{"All 3 tests passed."}},
	{name: "C with a Makefile, off by one", task: "sumc", inputs: map[string]any{"code": "return a + b + (a > 50);"},
		want: result{Status: "failed", Grade: 66, Problems: map[string][2]string{"code": {"failed", ""}},
			Custom: map[string]any{"passed": 2.0, "cppcheck": "clean"}},
		has: []string{"sum(100 23) gave '124', not 123."}},
	{name: "C with a Makefile, segmentation fault (run_student gives 256-11)", task: "sumc",
		inputs: map[string]any{"code": "volatile int *p = 0; return *p + a + b;"},
		want: result{Status: "failed", Grade: 0, Problems: map[string][2]string{"code": {"failed", ""}},
			Custom: map[string]any{"passed": 0.0, "cppcheck": "issues"}},
		has: []string{"sum(3 4) crashed: segmentation fault."}},
	{name: "C with a Makefile, compile error", task: "sumc", inputs: map[string]any{"code": "return a +;"},
		want: result{Status: "failed", Grade: 0, Problems: map[string][2]string{"code": {"failed", ""}}},
		has:  []string{"Compilation failed:", "error"}},
	{name: "run file reading /.__input/__inputdata.json itself, right", task: "rawinput", inputs: map[string]any{"word": "grade"},
		want: result{Status: "success", Grade: 100},
		has:  []string{"typed 'grade' (debug False)."}},
	{name: "run file reading /.__input/__inputdata.json itself, wrong", task: "rawinput", inputs: map[string]any{"word": "grad"},
		want: result{Status: "failed", Grade: 0},
		has:  []string{"typed 'grad' (debug False)."}},
	{name: "@random through jq and bc, right", task: "random", need: "bc jq",
		inputs: map[string]any{"value": "37", "@random": []any{0.3712, 0.9}},
		want:   result{Status: "success", Grade: 100, Custom: map[string]any{"expected": 37.0}},
		has:    []string{"Yes: 37."}},
	{name: "@random through jq and bc, wrong", task: "random", need: "bc jq",
		inputs: map[string]any{"value": "38", "@random": []any{0.3712, 0.9}},
		want:   result{Status: "failed", Grade: 0, Custom: map[string]any{"expected": 37.0}},
		has:    []string{"No: 100 times 0.3712 is 37.1200."}},
	{name: "Java, LC_ALL=en_US.UTF-8 and a source not in ASCII", task: "hellojava", need: "java", inputs: map[string]any{"greet": `return "Hello, " + name + "!";`},
		want: result{Status: "success", Grade: 100},
		has:  []string{"Java says: Hello, Ada!"}},
	{name: "java7: JUnit 4 at /usr/share/java/junit.jar, right", task: "maxjava", need: "java",
		inputs: map[string]any{"body": "int m = t[0];\nfor (int v : t) m = Math.max(m, v);\nreturn m;"},
		want:   result{Status: "success", Grade: 100},
		has:    []string{"All 3 JUnit tests passed."}},
	{name: "java7: JUnit 4, negative numbers forgotten", task: "maxjava", need: "java",
		inputs: map[string]any{"body": "int m = 0;\nfor (int v : t) m = Math.max(m, v);\nreturn m;"},
		want:   result{Status: "failed", Grade: 66},
		has:    []string{"JUnit: 1 of 3 tests failed:", "allNegative(MaxTest)", "AssertionError: max of -3, -1, -7"}},
	{name: "java8judge: Mockito from the judge's folder, right", task: "mockjudge", need: "java",
		inputs: map[string]any{"greet": `return clock.hour() < 12 ? "Good morning" : "Good afternoon";`},
		want:   result{Status: "success", Grade: 100, Problems: map[string][2]string{"greet": {"success", ""}}},
		has:    []string{"All 3 tests passed, the clock was asked."}},
	{name: "java8judge: Mockito, noon is not morning", task: "mockjudge", need: "java",
		inputs: map[string]any{"greet": `return clock.hour() <= 12 ? "Good morning" : "Good afternoon";`},
		want:   result{Status: "failed", Grade: 200.0 / 3, Problems: map[string][2]string{"greet": {"failed", ""}}},
		has:    []string{"1 of 3 tests failed: noon."}},
	{name: "cpp: Check and valgrind, right", task: "dupc", need: "valgrind",
		inputs: map[string]any{"code": "char *d = malloc(strlen(s) + 1);\nif (d) strcpy(d, s);\nreturn d;"},
		want: result{Status: "success", Grade: 100, Problems: map[string][2]string{"code": {"success", ""}},
			Custom: map[string]any{"valgrind": 0.0}},
		has: []string{"All tests pass, and valgrind is silent."}},
	{name: "cpp: Check passes, valgrind sees the missing byte", task: "dupc", need: "valgrind",
		inputs: map[string]any{"code": "char *d = malloc(strlen(s));\nif (d) strcpy(d, s);\nreturn d;"},
		want: result{Status: "failed", Grade: 50, Problems: map[string][2]string{"code": {"failed", ""}},
			Custom: map[string]any{"valgrind": 3.0}},
		has: []string{"valgrind found memory errors:", "Invalid write of size 1"}},
	{name: "MCQ quiz, right, French", task: "quiz",
		inputs: map[string]any{"size": "0", "unsigned": []any{"0", "1"}, "max": "255", "@lang": "fr"},
		want: result{Status: "success", Grade: 100,
			Problems: map[string][2]string{"size": {"success", "Bien vu."}, "max": {"success", "Bonne réponse"}}}},
	{name: "MCQ quiz, two wrong", task: "quiz", inputs: map[string]any{"size": "1", "unsigned": []any{"0", "2"}, "max": " 255 "},
		want: result{Status: "failed", Grade: 100.0 / 3, Problems: map[string][2]string{
			"size":     {"failed", "Wrong answer\n\nThat is a long."},
			"unsigned": {"failed", "Wrong answer. Make sure to select all the valid possibilities\n\nThe s is for signed."},
			"max":      {"success", "Correct answer"}}},
		has: []string{"You have 2 wrong answer(s).\n\n\nAmong them, you have 3 invalid answers in the multiple choice questions"}},
	{name: "ssh_student on docker-ssh, nobody logs in", task: "shell", inputs: map[string]any{},
		want: result{Status: "failed", Grade: 0, Custom: map[string]any{"ssh_code": 253.0}},
		has:  []string{"You did not log in in time."}},
	// INGInious' agent ends the job itself, as crash with its text: the
	// run file's feedback does not count.
	{name: "ssh_student on a plain docker task: refused", task: "shell-refused", inputs: map[string]any{},
		want: result{Status: "crash", Grade: 0},
		has:  []string{"ssh for student requires to allow ssh and internet access in the task environment configuration tab!"}},
}

// French, as the course's translators left it in $common/student/$i18n,
// with the header msgfmt writes (Python's gettext reads the charset there).
var french = map[string]string{
	"":                            "Content-Type: text/plain; charset=UTF-8\n",
	"All tests passed.":           "Tous les tests sont passés.",
	"Well done.":                  "Bravo.",
	"Some tests failed:":          "Des tests ont échoué :",
	"Check the negative numbers.": "Vérifie les nombres négatifs.",
	"Your code does not compile:": "Ton code ne compile pas :",
	"Well seen.":                  "Bien vu.",
	"That is a long.":             "Ça, c'est un long.",
}

// TestCourseBothPaths grades every case through the bridge and the CLI at
// once, on one ingo up with two job slots.
func TestCourseBothPaths(t *testing.T) {
	testutil.RequireImage(t, "ingo/env-default")
	testutil.RequireImage(t, "ingo/env-toolchain")
	if err := exec.Command(python, "-c", "import zmq, msgpack, yaml").Run(); err != nil {
		if os.Getenv("INGO_REQUIRE_DOCKER") == "1" {
			t.Fatalf("python3-zmq, python3-msgpack and python3-yaml are needed: %v", err)
		}
		t.Skipf("no python3-zmq / python3-msgpack / python3-yaml: %v", err)
	}
	root := t.TempDir()
	tasks := filepath.Join(root, "tasks")
	if err := os.CopyFS(filepath.Join(tasks, course), os.DirFS("testdata/"+course)); err != nil {
		t.Fatal(err)
	}
	i18n := filepath.Join(tasks, course, "$common", "student", "$i18n")
	if err := os.MkdirAll(i18n, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(i18n, "fr.mo"), testutil.GettextMO(french), 0o644); err != nil {
		t.Fatal(err)
	}
	in := startUp(t, root, tasks)

	ids := make([]string, len(cases))
	for i := range cases {
		ids[i] = fmt.Sprintf("cccccccc-0000-0000-0000-%012d", i+1)
	}
	var wg sync.WaitGroup
	var bridged map[string]result
	var bridgeErr error
	wg.Go(func() { bridged, bridgeErr = in.viaBridge(ids) })
	viaCLI := make([]result, len(cases))
	cliErr := make([]error, len(cases))
	for i, c := range cases {
		wg.Go(func() { viaCLI[i], cliErr[i] = in.viaCLI(t, filepath.Join(tasks, course), c) })
	}
	wg.Wait()
	if bridgeErr != nil {
		t.Errorf("bridge: %v", bridgeErr)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if msg := missing(c.need); msg != "" {
				t.Logf("the grading image lacks %s: this case fails until it has them", msg)
			}
			b, ok := bridged[ids[i]]
			if !ok {
				t.Fatalf("bridge: no result for %s", ids[i])
			}
			check(t, "bridge", b, c)
			if cliErr[i] != nil {
				t.Fatalf("cli: %v", cliErr[i])
			}
			check(t, "cli", viaCLI[i], c)
			same(t, b, viaCLI[i])
		})
	}
}

// check compares a path's result with INGInious'.
func check(t *testing.T, path string, got result, c gradingCase) {
	t.Helper()
	if got.Status != c.want.Status {
		t.Errorf("%s: status %q, want %q (text %q)", path, got.Status, c.want.Status, got.Text)
	}
	if math.Abs(got.Grade-c.want.Grade) > 0.01 {
		t.Errorf("%s: grade %v, want %v", path, got.Grade, c.want.Grade)
	}
	for _, s := range c.has {
		if !strings.Contains(got.Text, s) {
			t.Errorf("%s: text %q lacks %q", path, got.Text, s)
		}
	}
	if len(got.Problems) != len(c.want.Problems) {
		t.Errorf("%s: problems %v, want %v", path, got.Problems, c.want.Problems)
	}
	for id, w := range c.want.Problems {
		g := got.Problems[id]
		if g[0] != w[0] || !strings.Contains(g[1], w[1]) {
			t.Errorf("%s: problem %s = %q, want %q (text contains)", path, id, g, w)
		}
	}
	if fmt.Sprint(got.Custom) != fmt.Sprint(c.want.Custom) && len(got.Custom)+len(c.want.Custom) > 0 {
		t.Errorf("%s: custom %v, want %v", path, got.Custom, c.want.Custom)
	}
}

// same compares the two paths field by field, exactly.
func same(t *testing.T, b, c result) {
	t.Helper()
	for _, f := range []struct{ name, b, c string }{
		{"status", b.Status, c.Status},
		{"grade", fmt.Sprint(b.Grade), fmt.Sprint(c.Grade)},
		{"text", b.Text, c.Text},
		{"problems", fmt.Sprint(b.Problems), fmt.Sprint(c.Problems)},
		{"custom", fmt.Sprint(b.Custom), fmt.Sprint(c.Custom)},
	} {
		if f.b != f.c {
			t.Errorf("%s differs: bridge %q, cli %q", f.name, f.b, f.c)
		}
	}
}

// missing names the commands of need the default image has not.
func missing(need string) string {
	var out []string
	for _, cmd := range strings.Fields(need) {
		image := "ingo/env-default"
		if cmd == "java" || cmd == "valgrind" || cmd == "clang" {
			image = "ingo/env-toolchain"
		}
		if exec.Command("docker", "run", "--rm", "--entrypoint", "sh", image, "-c", "command -v "+cmd).Run() != nil {
			out = append(out, cmd+" ("+image+")")
		}
	}
	return strings.Join(out, ", ")
}

// system is one `ingo up --inginious` process of this test.
type system struct {
	dir, dataDir, natsURL, httpAddr, zmq, tasks, ingo string
	proc                                              *testutil.Process
}

// startUp runs ingo up with the bridge on tasks, two slots, SSH on
// loopback ports with a 3 s login timeout, and waits until its agent
// offers what the cases use.
func startUp(t *testing.T, root, tasks string) *system {
	t.Helper()
	s := &system{dir: root, dataDir: filepath.Join(root, "data"), tasks: tasks,
		natsURL:  fmt.Sprintf("nats://127.0.0.1:%d", testutil.FreePort(t)),
		httpAddr: fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)),
		zmq:      fmt.Sprintf("tcp://127.0.0.1:%d", testutil.FreePort(t)),
		ingo:     testutil.IngoBinary(t),
	}
	ssh := testutil.FreePorts(t, 2)
	s.proc = testutil.StartProcess(t, "ingo up", s.ingo, s.env(), "up",
		"--data-dir", s.dataDir, "--http-addr", s.httpAddr, "--nats-url", s.natsURL, "--concurrency", "2",
		"--inginious", s.zmq, "--inginious-tasks", tasks,
		"--set", "agent.cache-dir="+filepath.Join(root, "cache"),
		"--set", "agent.ssh.listen=127.0.0.1", "--set", "agent.ssh.login-timeout=3s",
		"--set", "agent.ssh.port-min="+strconv.Itoa(ssh), "--set", "agent.ssh.port-max="+strconv.Itoa(ssh+1))
	t.Cleanup(func() {
		_ = s.proc.Stop(30 * time.Second)
		if t.Failed() {
			out := s.proc.Output()
			t.Logf("ingo up's last output:\n%s", out[max(0, len(out)-16<<10):])
		}
	})
	deadline := time.Now().Add(startWait)
	for {
		if s.proc.Exited() {
			t.Fatalf("ingo up exited: %v\n%s", s.proc.Err(), s.proc.Output())
		}
		var envs map[string][]string
		if res, err := http.Get("http://" + s.httpAddr + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				out, err := s.cli(context.Background(), "envs", "--json")
				if err == nil && json.Unmarshal(out, &envs) == nil &&
					slices.Contains(envs["docker"], "java") && slices.Contains(envs["docker-ssh"], "default") {
					return s
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingo up: not ready with docker/java and docker-ssh/default within %v (envs %v)", startWait, envs)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// env keeps ingo's processes out of the user's home.
func (s *system) env() []string {
	return []string{"HOME=" + filepath.Join(s.dir, "home"), "XDG_DATA_HOME=" + filepath.Join(s.dir, "xdg")}
}

// cli runs the ingo binary as this system's admin.
func (s *system) cli(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, gradeWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.ingo, append(args,
		"--nats-url", s.natsURL, "--creds", filepath.Join(s.dataDir, natsauth.AdminCredsFile))...)
	cmd.Env = append(os.Environ(), s.env()...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("ingo %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// viaCLI grades c with ingo submit --course-dir.
func (s *system) viaCLI(t *testing.T, courseDir string, c gradingCase) (result, error) {
	args := []string{"submit", filepath.Join(courseDir, c.task), "--course-dir", courseDir, "--wait", "--json"}
	for k, v := range c.inputs {
		vals, ok := v.([]any)
		if !ok {
			vals = []any{v}
		}
		for _, v := range vals {
			args = append(args, "-i", fmt.Sprintf("%s=%v", k, v))
		}
	}
	out, err := s.cli(t.Context(), args...)
	if err != nil {
		return result{}, err
	}
	var r struct {
		Status, Text string
		Grade        float64
		Problems     map[string]struct{ Status, Text string }
		Custom       map[string]any
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return result{}, fmt.Errorf("submit --json: %w: %s", err, out)
	}
	res := result{Status: r.Status, Text: r.Text, Grade: r.Grade, Custom: r.Custom}
	if len(res.Custom) == 0 {
		res.Custom = nil
	}
	for id, p := range r.Problems {
		if res.Problems == nil {
			res.Problems = map[string][2]string{}
		}
		res.Problems[id] = [2]string{p.Status, p.Text}
	}
	return res, nil
}

// viaBridge grades every case at once as an INGInious webapp does, with
// testdata/client.py, and returns the results by job id.
func (s *system) viaBridge(ids []string) (map[string]result, error) {
	type job struct {
		ID        string         `json:"job_id"`
		Course    string         `json:"course"`
		Task      string         `json:"task"`
		InputData map[string]any `json:"inputdata"`
	}
	jobs := make([]job, len(cases))
	for i, c := range cases {
		data := map[string]any{"@username": "student", "@lang": "en", "@state": ""}
		for k, v := range c.inputs {
			data[k] = v
		}
		jobs[i] = job{ids[i], course, c.task, data}
	}
	in, err := json.Marshal(jobs)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), gradeWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "testdata/client.py", s.zmq, s.tasks)
	cmd.Stdin = strings.NewReader(string(in))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("client.py: %w: %s", err, stderr.String())
	}
	var done map[string]struct {
		Result   [2]string
		Grade    float64
		Problems map[string][2]string
		Custom   map[string]any
	}
	if err := json.Unmarshal(out, &done); err != nil {
		return nil, fmt.Errorf("client.py: %w: %s", err, out)
	}
	res := map[string]result{}
	for id, d := range done {
		// The bridge adds what the job used to the custom values (INGInious
		// has no other place for it); the CLI has it apart, as usage.
		delete(d.Custom, "ingo_usage")
		r := result{Status: d.Result[0], Text: d.Result[1], Grade: d.Grade, Custom: d.Custom}
		if len(d.Problems) > 0 {
			r.Problems = d.Problems
		}
		if len(r.Custom) == 0 {
			r.Custom = nil
		}
		res[id] = r
	}
	return res, nil
}
