package helper

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// helperBin is the helper built once for the end-to-end tests, and binDir
// holds its command links (first in the run files' PATH).
var helperBin, binDir string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if os.Getenv("INGO_TEST_STUDENT_DIR") != "" {
		// TestHideScripts_LockedByTheStudent run again as another user:
		// it needs no helper binary (nor a build cache to make one).
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "ingo-helper-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	helperBin = filepath.Join(dir, Name)
	binDir = filepath.Join(dir, "bin")
	args := []string{"build", "-trimpath", "-o", helperBin}
	env := append(os.Environ(), "CGO_ENABLED=0") // static, as in images
	if raceEnabled {
		args = append(args, "-race")
		env = append(os.Environ(), "CGO_ENABLED=1")
	}
	build := exec.Command("go", append(args, "./cmd/ingo-helper")...)
	build.Env = env
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the helper: %v\n%s", err, out)
		return 1
	}
	if err := os.Mkdir(binDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if out, err := exec.Command(helperBin, "install-links", binDir).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "install-links: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// container is a fake container file system under a temporary root.
type container struct {
	t     *testing.T
	root  string
	paths Paths
}

// newContainer lays out /task, /task/student, /.ingo and /archive as the
// runtime does, with input.json from input (marshalled).
func newContainer(t *testing.T, input any) *container {
	t.Helper()
	root := t.TempDir()
	c := &container{t: t, root: root, paths: NewPaths(root)}
	for _, d := range []string{c.paths.Task, c.paths.Student, c.paths.Ingo, c.paths.Archive} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if input != nil {
		data, err := json.Marshal(input)
		if err != nil {
			t.Fatal(err)
		}
		c.writeRaw(InputFile, string(data), 0o644)
	}
	return c
}

// writeRaw writes a file at a container path.
func (c *container) writeRaw(path, content string, mode os.FileMode) {
	c.t.Helper()
	full := filepath.Join(c.root, path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), mode); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Chmod(full, mode); err != nil { // WriteFile keeps an old mode
		c.t.Fatal(err)
	}
}

// task writes a file of the task folder.
func (c *container) task(name, content string, mode os.FileMode) {
	c.writeRaw(filepath.Join(TaskDir, name), content, mode)
}

// env is the helper's environment in tests: the links first in PATH.
// With -race, GORACE (passed on to the run file through INGO_PASS_ENV)
// drops the race runtime's one-second sleep at exit.
func (c *container) env() []string {
	return []string{
		RootEnv + "=" + c.root,
		"PATH=" + binDir + ":/usr/local/bin:/usr/bin:/bin",
		"GORACE=atexit_sleep_ms=0",
		PassEnv + "=GORACE",
	}
}

// run runs `ingo-helper run` and returns its exit status and stderr.
func (c *container) run() (int, string) {
	c.t.Helper()
	cmd := exec.Command(helperBin, "run")
	cmd.Env = c.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stderr.String()
	default:
		c.t.Fatalf("running the helper: %v", err)
		return -1, ""
	}
}

// result runs the helper, which must succeed, and decodes result.json.
func (c *container) result() Result {
	c.t.Helper()
	code, stderr := c.run()
	if code != 0 {
		c.t.Fatalf("ingo-helper run exited %d; stderr:\n%s", code, stderr)
	}
	data, err := os.ReadFile(c.paths.Result)
	if err != nil {
		c.t.Fatal(err)
	}
	if bytes.Contains(data, []byte("DATA RACE")) {
		c.t.Errorf("a helper command run by the run file reported a data race:\n%s", data)
	}
	var r Result
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		c.t.Fatalf("decoding result.json: %v\n%s", err, data)
	}
	return r
}

// command runs one helper command by its link name, as a run file would,
// with the task folder as working directory.
func (c *container) command(stdin string, name string, args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Env = c.env()
	cmd.Dir = c.paths.Task
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		c.t.Fatalf("running %s: %v", name, err)
	}
	return code, out.String(), errb.String()
}

// feedback reads the feedback file as the commands left it.
func (c *container) feedback() *feedback {
	c.t.Helper()
	f, err := newFeedbackStore(c.paths, 0).Load()
	if err != nil {
		c.t.Fatal(err)
	}
	return f
}

// job is a typical input.json.
func job(inputs map[string]any, output int64) map[string]any {
	in := map[string]any{"@lang": "en", "@username": "alice", "@state": ""}
	for k, v := range inputs {
		in[k] = v
	}
	return map[string]any{"input": in, "limits": map[string]any{"time": 10, "output": output}, "debug": ""}
}
