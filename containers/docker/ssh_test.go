package docker

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// sshEvents records the credentials a run sends.
type sshEvents struct {
	creds chan sshCreds
}

type sshCreds struct {
	host           string
	port           int
	user, password string
}

func newSSHEvents() *sshEvents { return &sshEvents{creds: make(chan sshCreds, 4)} }

func (e *sshEvents) SSHDebug(host string, port int, user, password string) {
	e.creds <- sshCreds{host, port, user, password}
}

// sshRuntime is a runtime with SSH on a few loopback ports, and a
// maximum session of a minute.
func sshRuntime(t *testing.T, login time.Duration) *Runtime {
	return sshRuntimeMax(t, login, time.Minute)
}

func sshRuntimeMax(t *testing.T, login, maxSession time.Duration) *Runtime {
	base := testutil.FreePorts(t, 4)
	return newTestRuntime(t, Options{SSH: SSHOptions{
		Listen: "127.0.0.1", PortMin: base, PortMax: base + 3,
		LoginTimeout: login, MaxSession: maxSession,
	}})
}

// runAsync runs a job in the background.
func runAsync(t *testing.T, r *Runtime, job *containers.Job, ev containers.Events) <-chan messages.JobResult {
	done := make(chan messages.JobResult, 1)
	go func() {
		res, err := r.Run(t.Context(), job, ev)
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		done <- res
	}()
	return done
}

func waitCreds(t *testing.T, ev *sshEvents) sshCreds {
	t.Helper()
	select {
	case c := <-ev.creds:
		return c
	case <-time.After(60 * time.Second):
		t.Fatal("no SSH credentials")
	}
	return sshCreds{}
}

// startSSHJob starts a debug "ssh" job of sshTaskRun on r and waits for
// its credentials.
func startSSHJob(t *testing.T, r *Runtime) (*containers.Job, <-chan messages.JobResult, sshCreds) {
	t.Helper()
	job := newJob(r, task(t, map[string]string{"run": sshTaskRun}), nil)
	job.Desc.Debug = messages.DebugSSH
	ev := newSSHEvents()
	done := runAsync(t, r, job, ev)
	return job, done, waitCreds(t, ev)
}

// startSSHStudent starts a job of environment type EnvTypeSSH whose run
// file is run (it calls ssh_student) and logs in as the student.
func startSSHStudent(t *testing.T, r *Runtime, run string) (*containers.Job, <-chan messages.JobResult, *ssh.Client) {
	t.Helper()
	return startSSHStudentJob(t, r, newJob(r, task(t, map[string]string{"run": run}), nil))
}

// startSSHStudentJob is startSSHStudent for a job made by the caller.
func startSSHStudentJob(t *testing.T, r *Runtime, job *containers.Job) (*containers.Job, <-chan messages.JobResult, *ssh.Client) {
	t.Helper()
	job.Desc.EnvironmentType = EnvTypeSSH
	ev := newSSHEvents()
	done := runAsync(t, r, job, ev)
	c := waitCreds(t, ev)
	cl, err := sshDial(c, c.password)
	if err != nil {
		t.Fatal(err)
	}
	return job, done, cl
}

// jobEnds waits for the result of a job that should end by itself (why:
// what it waits for, to say when it does not come).
func jobEnds(t *testing.T, done <-chan messages.JobResult, why string) messages.JobResult {
	t.Helper()
	select {
	case res := <-done:
		return res
	case <-time.After(60 * time.Second):
		t.Fatalf("the job did not end %s", why)
	}
	return messages.JobResult{}
}

func sshDial(c sshCreds, password string) (*ssh.Client, error) {
	return ssh.Dial("tcp", net.JoinHostPort(c.host, strconv.Itoa(c.port)), &ssh.ClientConfig{
		User:            c.user,
		Auth:            []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // a fresh key per job
		Timeout:         10 * time.Second,
	})
}

func sshRunCmd(t *testing.T, cl *ssh.Client, cmd string) string {
	t.Helper()
	s, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	if err != nil {
		t.Fatalf("%s: %v (%s)", cmd, err, out)
	}
	return string(out)
}

const sshTaskRun = "#!/bin/bash\nfeedback-result success\nfeedback-msg -m 'graded by run'\n"

func TestSSHDebug_GoClient(t *testing.T) {
	t.Parallel()
	r := sshRuntime(t, time.Minute)
	job, done, c := startSSHJob(t, r)
	if c.user != "worker" || len(c.password) < 12 || c.host != "127.0.0.1" {
		t.Fatalf("credentials %+v", c)
	}
	if _, err := sshDial(c, "wrong-password"); err == nil {
		t.Fatal("a wrong password was accepted")
	}
	cl, err := sshDial(c, c.password)
	if err != nil {
		t.Fatal(err)
	}
	if out := sshRunCmd(t, cl, "id"); !strings.Contains(out, "uid=4242") {
		t.Errorf("id: %q", out)
	}
	if out := sshRunCmd(t, cl, "cat /task/run"); out != sshTaskRun {
		t.Errorf("cat /task/run: %q", out)
	}
	// The teacher runs the grader by hand: its feedback is the result.
	sshRunCmd(t, cl, "cd /task && ./run")
	// The container has no network of its own: the SSH server is reached
	// through the agent only.
	if out := sshRunCmd(t, cl, "cat /sys/class/net/*/operstate 2>/dev/null | grep -c up || true"); strings.TrimSpace(out) != "0" {
		t.Errorf("interfaces up in the container: %q", out)
	}
	cl.Close()
	res := jobEnds(t, done, "after the logout")
	if res.Result.Status != messages.StatusSuccess || !strings.Contains(res.Result.Text, "[SSH Debug] The SSH session ended.") ||
		!strings.Contains(res.Result.Text, "graded by run") {
		t.Errorf("result %s %q", res.Result.Status, res.Result.Text)
	}
	if !archiveHas(t, res, "ssh_logs/session-") {
		t.Error("no session transcript in the archive")
	}
	assertJobGone(t, job)
}

func TestSSHDebug_OpenSSH(t *testing.T) {
	t.Parallel()
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		t.Skip("no OpenSSH client (Debian's openssh-client) on this machine")
	}
	r := sshRuntime(t, time.Minute)
	_, done, c := startSSHJob(t, r)
	// The password through SSH_ASKPASS, as a person would type it.
	dir := t.TempDir()
	askpass := filepath.Join(dir, "askpass")
	if err := os.WriteFile(askpass, []byte("#!/bin/sh\necho '"+c.password+"'\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sshBin, "-p", strconv.Itoa(c.port),
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "PreferredAuthentications=password", "-o", "NumberOfPasswordPrompts=1",
		c.user+"@"+c.host, "id; cat /task/run")
	cmd.Env = append(os.Environ(), "SSH_ASKPASS="+askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=none")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ssh: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "uid=4242") || !strings.Contains(out.String(), sshTaskRun) {
		t.Errorf("ssh output %q", out.String())
	}
	if res := jobEnds(t, done, "after the logout"); res.Result.Status != messages.StatusError ||
		!strings.HasPrefix(res.Result.Text, "[SSH Debug] The SSH session ended.") {
		t.Errorf("result %s %q", res.Result.Status, res.Result.Text)
	}
}

func TestSSHDebug_NobodyConnects(t *testing.T) {
	t.Parallel()
	r := sshRuntime(t, 2*time.Second)
	_, done, _ := startSSHJob(t, r)
	if res := jobEnds(t, done, "at the login wait"); res.Result.Status != messages.StatusCrash || res.Result.Text != "[SSH Debug] Nobody connected to the SSH server." {
		t.Errorf("result %s %q", res.Result.Status, res.Result.Text)
	}
}

func TestSSHDebug_NotEnabled(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	job := newJob(r, task(t, map[string]string{"run": sshTaskRun}), nil)
	job.Desc.Debug = messages.DebugSSH
	_, err := r.Run(context.Background(), job, newSSHEvents())
	if err == nil || !strings.Contains(err.Error(), "SSH debug is not enabled") {
		t.Errorf("err = %v", err)
	}
}

func TestSSHStudent(t *testing.T) {
	t.Parallel()
	r := sshRuntime(t, time.Minute)
	run := `#!/bin/bash
echo "for the student" >/task/student/notes.txt
mkdir /task/student/scripts && echo bye >/task/student/scripts/bye.txt
ssh_student --setup-script 'echo setup-ran >/task/student/setup.txt' --teardown-script 'cat /task/student/scripts/bye.txt >/task/student/teardown.txt'
code=$?
feedback-msg -m "code=$code $(cat /task/student/setup.txt /task/student/teardown.txt /task/student/left.txt | tr '\n' ' ')logs=$(grep -c '^# ssh session .* started' /task/student/.ssh_logs) $(grep -o 'for the student' /task/student/.ssh_logs)"
feedback-result success
`
	job, done, cl := startSSHStudent(t, r, run)
	// student/scripts is hidden while the session runs (before, the
	// student read it), and what the student puts there is not what the
	// teardown script finds.
	if out := sshRunCmd(t, cl, "cat /task/student/notes.txt; ls /task; [ -e /task/student/scripts ] || echo hidden; mkdir /task/student/scripts; echo hacked >/task/student/scripts/bye.txt; echo left >/task/student/left.txt"); out != "for the student\nstudent\nhidden\n" {
		t.Errorf("student session: %q", out)
	}
	cl.Close()
	res := <-done
	// The transcript is one file, as INGInious leaves it (run files grep
	// it), with what the session showed.
	want := "code=0 setup-ran bye left logs=1 for the student"
	if res.Result.Status != messages.StatusSuccess || res.Result.Text != want {
		t.Errorf("result %s %q, want %q", res.Result.Status, res.Result.Text, want)
	}
	assertJobGone(t, job)
}

// TestSSHStudent_Network: ssh_student's container has the task's network
// when the task has network_grading (as INGInious, which gives it a
// network of its own; before, it had none), none otherwise. Only the
// interfaces are looked at: no traffic is sent.
func TestSSHStudent_Network(t *testing.T) {
	t.Parallel()
	r := sshRuntime(t, time.Minute)
	run := "#!/bin/bash\nssh_student\nfeedback-result success\n"
	for _, tt := range []struct {
		network bool
		want    string
	}{{false, "lo\n"}, {true, "eth0\nlo\n"}} {
		job := newJob(r, task(t, map[string]string{"run": run}), nil)
		job.Desc.EnvironmentParameters.NetworkGrading = tt.network
		_, done, cl := startSSHStudentJob(t, r, job)
		if out := sshRunCmd(t, cl, "ls /sys/class/net"); out != tt.want {
			t.Errorf("network_grading %v: interfaces %q, want %q", tt.network, out, tt.want)
		}
		cl.Close()
		jobEnds(t, done, "after the student left")
	}
}

// TestSSHStudent_NeedsSSHEnvironment: ssh_student in a task that does not
// allow SSH (type docker, as a task.yaml without ssh_allowed) ends the
// job as crash with INGInious' text, as INGInious' agent does, whatever
// the run file does next: it must not grade a student who could not log
// in (OpenWeek/INGInious-bash-2022 has such tasks).
func TestSSHStudent_NeedsSSHEnvironment(t *testing.T) {
	t.Parallel()
	r := sshRuntime(t, time.Minute)
	run := "#!/bin/bash\nfeedback-msg -m before\nssh_student\nfeedback-msg -m \"code=$?\"; feedback-result failed\n"
	job := newJob(r, task(t, map[string]string{"run": run}), map[string]any{"@state": "prev"})
	res, _ := runJob(t, r, job)
	if res.Result.Status != messages.StatusCrash || res.Result.Text != textSSHNotAllowed {
		t.Errorf("got %s %q, want crash %q", res.Result.Status, res.Result.Text, textSSHNotAllowed)
	}
	if res.State != "prev" || res.Grade != 0 {
		t.Errorf("state %q grade %v, want the previous state and 0", res.State, res.Grade)
	}
}

// archiveHas tells whether the result's archive holds a file whose name
// starts with prefix.
func archiveHas(t *testing.T, res messages.JobResult, prefix string) bool {
	t.Helper()
	if len(res.Archive) == 0 {
		return false
	}
	zr, err := gzip.NewReader(bytes.NewReader(res.Archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			return false
		}
		if strings.HasPrefix(strings.TrimPrefix(h.Name, "./"), prefix) {
			return true
		}
	}
}

func TestSSHDebug_MaxSession(t *testing.T) {
	t.Parallel()
	r := sshRuntimeMax(t, time.Minute, 3*time.Second)
	job, done, c := startSSHJob(t, r)
	cl, err := sshDial(c, c.password)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	s, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	// A session that would outlive the maximum.
	go func() { _ = s.Run("sleep 600") }()
	want := "[SSH Debug] The SSH session reached its maximum of 3s."
	if res := jobEnds(t, done, "at its maximum session"); res.Result.Status != messages.StatusError || !strings.HasPrefix(res.Result.Text, want) {
		t.Errorf("result %s %q, want error %q", res.Result.Status, res.Result.Text, want)
	}
	assertJobGone(t, job)
}
