package compose

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ingo-grader/ingo/internal/testutil"
)

// The whole test, image builds included, must end within this; the
// stack's teardown has its own bound after it.
const (
	testBound     = 3 * time.Minute
	teardownBound = 90 * time.Second
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// composeCommand finds docker-compose, else Compose v2 (`docker compose`).
// Neither: the test is skipped, or fails under INGO_REQUIRE_DOCKER=1.
func composeCommand(t *testing.T) []string {
	t.Helper()
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}
	}
	if err := exec.Command("docker", "compose", "version").Run(); err == nil {
		return []string{"docker", "compose"}
	}
	if os.Getenv("INGO_REQUIRE_DOCKER") == "1" {
		t.Fatal("neither docker-compose nor `docker compose` is available (INGO_REQUIRE_DOCKER=1)")
	}
	t.Skip("neither docker-compose nor `docker compose` is available (INGO_REQUIRE_DOCKER=1 makes this a failure)")
	return nil
}

func freePort(t *testing.T) string {
	t.Helper()
	return fmt.Sprint(testutil.FreePort(t))
}

// freePortPair is two consecutive ports nobody listens on.
func freePortPair(t *testing.T) (string, string) {
	t.Helper()
	p := testutil.FreePorts(t, 2)
	return fmt.Sprint(p), fmt.Sprint(p + 1)
}

// stack is one docker-compose project of docker-compose.yml.
type stack struct {
	t       *testing.T
	compose []string
	root    string
	project string
	env     []string
}

// run runs a compose subcommand and returns its combined output.
func (s *stack) run(ctx context.Context, args ...string) (string, error) {
	full := append(append([]string{}, s.compose[1:]...),
		append([]string{"-f", filepath.Join(s.root, "docker-compose.yml"), "-p", s.project}, args...)...)
	cmd := exec.CommandContext(ctx, s.compose[0], full...)
	cmd.Dir = s.root
	cmd.Env = append(os.Environ(), s.env...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// adminCreds asks the stack's keys service for admin credentials, as
// docker-compose.yml tells an operator to, and writes them to a file for
// `ingo --creds`.
func (s *stack) adminCreds(ctx context.Context) string {
	s.t.Helper()
	full := append(append([]string{}, s.compose[1:]...), "-f", filepath.Join(s.root, "docker-compose.yml"), "-p", s.project,
		"run", "--rm", "-T", "keys", "creds", "--role", "admin", "--name", "compose-test", "--data-dir", "/var/lib/ingo")
	cmd := exec.CommandContext(ctx, s.compose[0], full...)
	cmd.Dir = s.root
	cmd.Env = append(os.Environ(), s.env...)
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		s.t.Fatalf("docker-compose run keys creds: %v\n%s", err, stderr.Bytes())
	}
	path := filepath.Join(s.t.TempDir(), "admin.creds")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		s.t.Fatal(err)
	}
	return path
}

func TestComposeStack(t *testing.T) {
	testutil.RequireImage(t, "ingo/env-default:latest")
	compose := composeCommand(t)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	defer cancel()
	root := repoRoot()

	// 1. The images: static binaries built here, FROM scratch.
	build := exec.CommandContext(ctx, "bash", filepath.Join(root, "containers", "images", "build-services.sh"), "-q")
	build.Dir = root
	build.WaitDelay = 5 * time.Second
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build-services.sh: %v\n%s", err, out)
	}
	t.Logf("images built in %s", time.Since(start).Round(time.Millisecond))

	// 2. The stack, on ports and under names of its own.
	suffix := strings.ToLower(rand.Text()[:8])
	httpPort, natsPort := freePort(t), freePort(t)
	agentID := "compose-test-" + suffix
	sshPort, sshMax := freePortPair(t) // the range is this port and the next one
	s := &stack{t: t, compose: compose, root: root, project: "ingotest" + suffix, env: []string{
		"INGO_API_ADMIN_TOKEN=" + apiToken,
		"INGO_HTTP_PORT=" + httpPort,
		"INGO_NATS_PORT=" + natsPort,
		"INGO_AGENT_ID=" + agentID,
		"INGO_SSH_PORT_MIN=" + sshPort,
		"INGO_SSH_PORT_MAX=" + sshMax,
	}}
	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), teardownBound)
		defer dcancel()
		if t.Failed() {
			out, _ := s.run(dctx, "ps")
			t.Logf("docker-compose ps:\n%s", out)
			out, _ = s.run(dctx, "logs", "--no-color", "--tail", "200")
			t.Logf("docker-compose logs:\n%s", out)
		}
		t0 := time.Now()
		if out, err := s.run(dctx, "down", "-v", "--remove-orphans", "-t", "10"); err != nil {
			t.Errorf("docker-compose down -v: %v\n%s", err, out)
		}
		// Grading containers are the host daemon's, not the project's.
		out, _ := exec.CommandContext(dctx, "docker", "ps", "-aq", "--filter", "label=io.ingo.agent="+agentID).Output()
		for _, id := range strings.Fields(string(out)) {
			t.Errorf("grading container %s left by agent %s: removing it", id, agentID)
			_ = exec.CommandContext(dctx, "docker", "rm", "-f", id).Run()
		}
		t.Logf("stack down in %s; whole test %s", time.Since(t0).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	})
	t0 := time.Now()
	if out, err := s.run(ctx, "up", "-d"); err != nil {
		t.Fatalf("docker-compose up -d: %v\n%s", err, out)
	}
	base := "http://127.0.0.1:" + httpPort
	waitReady(ctx, t, base+"/readyz")
	t.Logf("stack up and ready in %s", time.Since(t0).Round(time.Millisecond))

	// The nats service runs configs/compose/nats.conf: JetStream on, and
	// ingo's 8 MiB messages.
	checkNATSInfo(t, "127.0.0.1:"+natsPort)

	// 3. examples/hello through the HTTP API.
	t0 = time.Now()
	id := submitHTTP(ctx, t, base, filepath.Join(root, "examples", "hello"), `{"inputs": {"name": "Compose"}}`)
	res := waitDone(ctx, t, base, id)
	if res.Status != "success" || !strings.Contains(res.Text, "Hello, Compose!") {
		t.Fatalf("HTTP API: job %s: result status %q, text %q; want success with Hello, Compose!", id, res.Status, res.Text)
	}
	t.Logf("graded through the HTTP API in %s: %s %q", time.Since(t0).Round(time.Millisecond), res.Status, res.Text)

	// 4. The same through the published NATS port, with the ingo command.
	t0 = time.Now()
	ingo := testutil.IngoBinary(t)
	creds := s.adminCreds(ctx)
	cmd := exec.CommandContext(ctx, ingo, "submit", filepath.Join(root, "examples", "hello"), "-i", "name=Host",
		"--nats-url", "nats://127.0.0.1:"+natsPort, "--creds", creds, "--wait", "--json")
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ingo submit through the published NATS port: %v\n%s%s", err, out, stderr.Bytes())
	}
	var cli result
	if err := json.Unmarshal(out, &cli); err != nil || cli.Status != "success" || !strings.Contains(cli.Text, "Hello, Host!") {
		t.Fatalf("ingo submit --json printed %s (%v); want success with Hello, Host!\n%s", out, err, stderr.Bytes())
	}
	t.Logf("graded through NATS with ingo submit in %s", time.Since(t0).Round(time.Millisecond))

	// 5. run_student from the agent in its container: the student
	// container is a sibling on the host's daemon, reached through the
	// grading container's attach stream.
	t0 = time.Now()
	studentTask := t.TempDir()
	if err := os.WriteFile(filepath.Join(studentTask, "run"), []byte("#!/bin/bash\n"+
		"out=$(echo compose | run_student sh -c 'tr a-z A-Z')\nfeedback-msg -m \"$out $?\"\nfeedback-result success\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	id = submitHTTP(ctx, t, base, studentTask, `{}`)
	res = waitDone(ctx, t, base, id)
	if res.Status != "success" || res.Text != "COMPOSE 0" {
		t.Fatalf("run_student: job %s: %q %q; want success \"COMPOSE 0\"", id, res.Status, res.Text)
	}
	t.Logf("run_student in %s", time.Since(t0).Round(time.Millisecond))

	// 6. SSH debug through the published port range, with the ready-to-
	// paste line of ingo submit --ssh.
	t0 = time.Now()
	sshSubmit(ctx, t, ingo, natsPort, creds, filepath.Join(root, "examples", "hello"))
	t.Logf("SSH debug session in %s", time.Since(t0).Round(time.Millisecond))
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// sshSubmit runs ingo submit --ssh, reads the ssh line and password it
// prints, logs in, runs id, logs out, and checks the job's end.
func sshSubmit(ctx context.Context, t *testing.T, ingo, natsPort, creds, task string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, ingo, "submit", task, "--ssh", "--json", "--nats-url", "nats://127.0.0.1:"+natsPort, "--creds", creds)
	cmd.WaitDelay = 5 * time.Second
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var host, port, user, password string
	sc := bufio.NewScanner(stderr)
	for password == "" && sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) == 4 && f[0] == "ssh" && f[1] == "-p" {
			port = f[2]
			user, host, _ = strings.Cut(f[3], "@")
		} else if p, ok := strings.CutPrefix(line, "password: "); ok {
			password = p
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	if port == "" || password == "" {
		t.Fatalf("ingo submit --ssh printed no ssh line and password")
	}
	cl, err := ssh.Dial("tcp", net.JoinHostPort(host, port), &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("ssh %s@%s:%s: %v", user, host, port, err)
	}
	sess, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.CombinedOutput("id -u; ls /task")
	cl.Close()
	if err != nil || !strings.HasPrefix(string(out), "4242\n") || !strings.Contains(string(out), "run") {
		t.Fatalf("ssh session: %q, %v", out, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ingo submit --ssh: %v\n%s", err, stdout.Bytes())
	}
	var r result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil || !strings.HasPrefix(r.Text, "[SSH Debug] The SSH session ended.") {
		t.Fatalf("ingo submit --ssh printed %s (%v)", stdout.Bytes(), err)
	}
}

// checkNATSInfo reads the INFO line the NATS server at addr greets with.
func checkNATSInfo(t *testing.T, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("NATS at %s: %v", addr, err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "INFO ") {
		t.Fatalf("NATS at %s greeted with %q (%v), want INFO {...}", addr, line, err)
	}
	var info struct {
		MaxPayload   int64 `json:"max_payload"`
		JetStream    bool  `json:"jetstream"`
		AuthRequired bool  `json:"auth_required"`
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "INFO ")), &info); err != nil {
		t.Fatalf("NATS INFO %q: %v", line, err)
	}
	if info.MaxPayload != 8<<20 || !info.JetStream {
		t.Fatalf("NATS INFO: max_payload %d, jetstream %v; want %d and true (configs/compose/nats.conf)", info.MaxPayload, info.JetStream, 8<<20)
	}
	if !info.AuthRequired {
		t.Fatal("NATS INFO: auth_required is false: the compose stack's NATS admits anonymous clients")
	}
}

// waitReady polls url until it answers 200.
func waitReady(ctx context.Context, t *testing.T, url string) {
	t.Helper()
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%s: %s", resp.Status, b)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s not ready in time: last answer %s", url, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// taskArchive is dir as a .tar.gz, its files at the archive's root.
func taskArchive(t *testing.T, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err != nil {
		t.Fatalf("archive %s: %v", dir, err)
	}
	return buf.Bytes()
}

// apiToken is the stack's HTTP API admin token (INGO_API_ADMIN_TOKEN,
// which docker-compose.yml passes through).
var apiToken = "compose-test-" + rand.Text()

// submitHTTP posts a job (multipart: part job, the JSON request; part
// task, the task folder as a .tar.gz) and returns its id.
func submitHTTP(ctx context.Context, t *testing.T, base, taskDir, job string) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="job"`)
	h.Set("Content-Type", "application/json")
	pw, err := mw.CreatePart(h)
	if err == nil {
		_, err = io.WriteString(pw, job)
	}
	if err == nil {
		pw, err = mw.CreateFormFile("task", "hello.tar.gz")
	}
	if err == nil {
		_, err = pw.Write(taskArchive(t, taskDir))
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/jobs", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /api/v1/jobs: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r struct {
		JobID string `json:"job_id"`
	}
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(b, &r) != nil || r.JobID == "" {
		t.Fatalf("POST /api/v1/jobs: %s %s; want 202 with a job_id", resp.Status, b)
	}
	return r.JobID
}

type result struct {
	Status string  `json:"status"`
	Text   string  `json:"text"`
	Grade  float64 `json:"grade"`
}

// waitDone polls GET /api/v1/jobs/{id} until its status is done and
// returns the result.
func waitDone(ctx context.Context, t *testing.T, base, id string) result {
	t.Helper()
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/jobs/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+apiToken)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%s %s", resp.Status, b)
			var v struct {
				Status string  `json:"status"`
				Result *result `json:"result"`
			}
			if resp.StatusCode == http.StatusOK && json.Unmarshal(b, &v) == nil && v.Status == "done" {
				if v.Result == nil {
					t.Fatalf("GET /api/v1/jobs/%s: done without a result: %s", id, b)
				}
				return *v.Result
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("job %s not done in time: last answer %s", id, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
