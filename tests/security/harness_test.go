package security

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// Bounds of the suite's waits. They bound, they never measure: a slow CI
// machine running other packages' Docker tests at the same time passes.
const (
	startWait = 2 * time.Minute // ingo up ready, an environment offered
	jobWait   = 2 * time.Minute // a grading job's result
	cliWait   = 2 * time.Minute // a CLI command, submit --wait included
	errWait   = 5 * time.Second // a NATS -ERR after a flush
)

// gradingImage is what every job of the suite runs in.
const gradingImage = "ingo/env-default"

// installation is one `ingo up` process, as shipped, and what an attacker
// standing next to it would want: its ports and its data directory.
type installation struct {
	name    string
	dir     string // everything of this installation: data, cache, tasks, log
	dataDir string
	logFile string // every byte ingo up wrote, stdout and stderr

	natsURL  string
	httpBase string // http://127.0.0.1:PORT
	zmqAddr  string // 127.0.0.1:PORT of the INGInious bridge, "" without

	proc *testutil.Process

	keys       *natsauth.Keys
	adminCreds string // path of DATA/admin.creds
}

// upOptions say how to start an installation beyond the common flags.
type upOptions struct {
	bridgeTasks string // --inginious-tasks; "" for no bridge
	ssh         bool   // SSH debug on loopback ports of this test
}

// startUp runs `ingo up` with its own data directory (under root/name)
// and ports, Docker runtime, periodic cleanup every second, and waits
// until its HTTP API says ready and its agent offers docker/default. It
// is stopped when t ends (SIGTERM, SIGKILL 30 s later); root outlives it,
// for its log.
func startUp(t *testing.T, root, name string, o upOptions) *installation {
	t.Helper()
	testutil.RequireImage(t, gradingImage)
	ingo := testutil.IngoBinary(t)
	dir := filepath.Join(root, name)
	in := &installation{
		name: name, dir: dir,
		dataDir:    filepath.Join(dir, "data"),
		logFile:    filepath.Join(dir, "up.log"),
		adminCreds: filepath.Join(dir, "data", natsauth.AdminCredsFile),
		natsURL:    fmt.Sprintf("nats://127.0.0.1:%d", testutil.FreePort(t)),
		httpBase:   fmt.Sprintf("http://127.0.0.1:%d", testutil.FreePort(t)),
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	args := []string{"up",
		"--data-dir", in.dataDir,
		"--http-addr", strings.TrimPrefix(in.httpBase, "http://"),
		"--nats-url", in.natsURL,
		"--concurrency", "2",
		// Debug: secrets must stay out of the most talkative log too.
		"--log-level", "debug",
		"--set", "agent.cache-dir=" + filepath.Join(dir, "cache"),
		"--set", "agent.cleanup-interval=1s",
	}
	if o.bridgeTasks != "" {
		in.zmqAddr = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
		args = append(args, "--inginious", "tcp://"+in.zmqAddr, "--inginious-tasks", o.bridgeTasks)
	}
	if o.ssh {
		base := testutil.FreePorts(t, 4)
		args = append(args, "--set", "agent.ssh.listen=127.0.0.1",
			"--set", "agent.ssh.port-min="+strconv.Itoa(base), "--set", "agent.ssh.port-max="+strconv.Itoa(base+3))
	} else {
		args = append(args, "--set", "agent.ssh.port-min=0", "--set", "agent.ssh.port-max=0")
	}
	// The shell only redirects and execs: the process is ingo up itself
	// (its pid, its signals), and its whole output lands in a file,
	// where attack 13 reads every byte (a Process keeps the last 2 MiB).
	script := `log=$1; shift; exec "$@" >>"$log" 2>&1`
	in.proc = testutil.StartProcess(t, "ingo up "+name, "/bin/sh", in.env(), append([]string{"-c", script, "sh", in.logFile, ingo}, args...)...)
	t.Cleanup(func() {
		// Gracefully, so that ingo up removes its containers even when
		// the suite stops half-way.
		_ = in.stop()
		if t.Failed() {
			t.Logf("log of ingo up %s (last 64 KiB):\n%s", name, tail(in.log(), 64<<10))
		}
	})

	deadline := time.Now().Add(startWait)
	for {
		if in.proc.Exited() {
			t.Fatalf("ingo up %s exited: %v\n%s", name, in.proc.Err(), tail(in.log(), 16<<10))
		}
		if code, body, err := in.get("/readyz", ""); err == nil && code == http.StatusOK && strings.Contains(body, "ready") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingo up %s: /readyz not ready within %v\n%s", name, startWait, tail(in.log(), 16<<10))
		}
		time.Sleep(200 * time.Millisecond)
	}
	keys, err := natsauth.Load(in.dataDir)
	if err != nil {
		t.Fatalf("the keys of ingo up %s: %v", name, err)
	}
	in.keys = keys
	// The agent needs a moment to list the images and say hello.
	for {
		out, _, err := in.cli(t, "envs", "--json")
		var envs map[string][]string
		if err == nil && json.Unmarshal([]byte(out), &envs) == nil && slices.Contains(envs["docker"], "default") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingo up %s: no agent offers docker/default within %v (envs: %s, %v)\n%s", name, startWait, out, err, tail(in.log(), 16<<10))
		}
		time.Sleep(500 * time.Millisecond)
	}
	return in
}

// log is everything ingo up wrote so far.
func (in *installation) log() string {
	b, err := os.ReadFile(in.logFile)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// waitLog returns the first line of the log holding every part, waiting
// up to d for it; "" when none came.
func (in *installation) waitLog(d time.Duration, parts ...string) string {
	deadline := time.Now().Add(d)
	for {
		for _, l := range strings.Split(in.log(), "\n") {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(l, p)
			}
			if all {
				return l
			}
		}
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends ingo up as an operator does (SIGTERM), so that it removes its
// containers and writes its last lines; killed after 30 s.
func (in *installation) stop() error { return in.proc.Stop(30 * time.Second) }

// alive says whether ingo up still runs and answers /healthz.
func (in *installation) alive() error {
	if in.proc.Exited() {
		return fmt.Errorf("ingo up exited: %v", in.proc.Err())
	}
	code, _, err := in.get("/healthz", "")
	if err != nil {
		return fmt.Errorf("/healthz: %w", err)
	}
	if code != http.StatusOK {
		return fmt.Errorf("/healthz: %d", code)
	}
	return nil
}

// adminToken is the HTTP API token ingo up wrote for its admin.
func (in *installation) adminToken(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(in.dataDir, apitoken.TokenFile))
	if err != nil {
		t.Fatalf("the admin token of ingo up: %v", err)
	}
	return strings.TrimSpace(string(b))
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// get fetches path with the bearer token (none when ""), and returns the
// status and up to 64 KiB of the body.
func (in *installation) get(path, token string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, in.httpBase+path, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(req)
}

func do(req *http.Request) (int, string, error) {
	res, err := httpClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, string(b), nil
}

// cli runs the ingo binary as an admin of this installation on the
// machine that holds its keys, as an operator would, bounded by cliWait.
func (in *installation) cli(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, testutil.IngoBinary(t), append(args, in.cliFlags()...)...)
	cmd.Env = append(os.Environ(), in.env()...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("ingo %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), errOut.String(), err
}

// cliFlags reach this installation's NATS as its admin.
func (in *installation) cliFlags() []string {
	return []string{"--nats-url", in.natsURL, "--creds", in.adminCreds}
}

// startCLI runs the ingo binary in the background (submit --wait, say),
// killed when the test ends.
func (in *installation) startCLI(t *testing.T, name string, args ...string) *testutil.Process {
	t.Helper()
	return testutil.StartProcess(t, name, testutil.IngoBinary(t), in.env(), append(args, in.cliFlags()...)...)
}

// env keeps this installation's processes out of the user's home: no
// default data directory of theirs is read or written.
func (in *installation) env() []string {
	return []string{"HOME=" + filepath.Join(in.dir, "home"), "XDG_DATA_HOME=" + filepath.Join(in.dir, "xdg")}
}

// mint makes credentials of role and name with the installation's keys,
// which is what `ingo creds` does.
func (in *installation) mint(t *testing.T, role natsauth.Role, name string) *natsauth.Credentials {
	t.Helper()
	c, err := in.keys.Mint(role, name, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cliResult is the part of `ingo submit --json`'s result the suite reads.
type cliResult struct {
	Status string `json:"status"`
	Text   string `json:"text"`
}

// parseResult reads the result JSON at the end of out (a process's
// output may have progress lines before it).
func parseResult(out string) (cliResult, error) {
	var r cliResult
	i := strings.Index(out, "{\n")
	if i < 0 {
		return r, fmt.Errorf("no result JSON in %q", tail(out, 2000))
	}
	dec := json.NewDecoder(strings.NewReader(out[i:]))
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("result JSON: %w in %q", err, tail(out, 2000))
	}
	return r, nil
}

// waitProcess waits for a CLI process to end, at most d.
func waitProcess(t *testing.T, p *testutil.Process, d time.Duration) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(d):
		t.Fatalf("%s still runs after %v:\n%s", p.Name(), d, tail(p.Output(), 4000))
	}
}

// task writes a task folder COURSE/TASK under root: task.yaml with the
// given environment_parameters limits (YAML lines) and an executable run
// file, plus extra files (name -> content).
func task(t *testing.T, root, course, name, limits, run string, extra map[string]string) string {
	t.Helper()
	dir := filepath.Join(root, course, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	yaml := "accessible: true\nname: " + name + "\nenvironment_type: docker\nenvironment_id: default\n" +
		"environment_parameters:\n    limits:\n" + indent(limits, "        ") + "    network_grading: false\n"
	files := map[string]string{"task.yaml": yaml}
	for k, v := range extra {
		files[k] = v
	}
	for k, v := range files {
		p := filepath.Join(dir, k)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "run"), []byte(run), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func indent(s, prefix string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		b.WriteString(prefix + strings.TrimSpace(l) + "\n")
	}
	return b.String()
}

// sleeper is a run file that grades after sleeping s seconds, with a
// grade and text no forger would guess.
func sleeper(s int) string {
	return fmt.Sprintf("#!/bin/sh\nsleep %d\nfeedback-result success\nfeedback-grade 42\nfeedback-msg -m \"graded by the real grader\"\n", s)
}

const realText = "graded by the real grader"

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "[...]" + s[len(s)-n:]
}

// short cuts an error or a text to one readable line.
func short(v any) string {
	s := strings.Join(strings.Fields(fmt.Sprint(v)), " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}
