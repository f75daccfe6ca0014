package e2e

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/crypto/ssh"

	"github.com/ingo-grader/ingo/containers/docker"
	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// freePorts is a range of n free ports, first and last.
func freePorts(t *testing.T, n int) (int, int) {
	t.Helper()
	base := testutil.FreePorts(t, n)
	return base, base + n - 1
}

// TestDockerStudentAndSSH: run_student, SSH debug and ssh_student through
// the whole system (client, backend, agent), the credentials reaching only
// the submitting client.
func TestDockerStudentAndSSH(t *testing.T) {
	c := newCluster(t)
	lo, hi := freePorts(t, 4)
	c.dockerAgentWith("ssh-agent", 2, docker.Options{AgentID: "ssh-agent", SSH: docker.SSHOptions{
		Listen: "127.0.0.1", PortMin: lo, PortMax: hi, LoginTimeout: time.Minute, MaxSession: time.Minute}})
	exerciseStudentAndSSH(t, c, c.client("web"), "ssh-agent")
}

// exerciseStudentAndSSH submits the three kinds of jobs to an agent with
// SSH on loopback.
func exerciseStudentAndSSH(t *testing.T, c *cluster, cl *frontendclient.Client, agentID string) {
	c.client("other-" + agentID)
	waitEnvironments(t, cl, "docker/default", "docker-ssh/default")
	// Every message to any client, to see where credentials go.
	subj := messages.NewSubjects("")
	spy := c.connect("spy", c.nats.URL)
	var mu sync.Mutex
	var toClients []*nats.Msg
	sub, err := spy.Subscribe(subj.Client(">"), func(m *nats.Msg) {
		mu.Lock()
		toClients = append(toClients, m)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	passwordsWentTo := func(password string) []string {
		mu.Lock()
		defer mu.Unlock()
		var subjects []string
		for _, m := range toClients {
			if bytes.Contains(m.Data, []byte(password)) {
				subjects = append(subjects, m.Subject)
			}
		}
		return subjects
	}

	t.Run("run_student", func(t *testing.T) {
		req := job("student-"+agentID, "docker/default", 0, nil)
		req.TaskDir = taskDir(t, "#!/bin/bash\nout=$(printf 'abc' | run_student sh -c 'tr a-z A-Z; echo err >&2' 2>/tmp/e)\n"+
			"feedback-msg -m \"$out $(cat /tmp/e) $?\"\nfeedback-result success\n")
		r := result(t, submit(t, cl, req))
		if r.Result.Status != messages.StatusSuccess || r.Result.Text != "ABC err 0" {
			t.Fatalf("result %+v", r.Result)
		}
	})

	t.Run("ssh-debug", func(t *testing.T) {
		req := job("sshdebug-"+agentID, "docker/default", 0, nil)
		req.TaskDir = taskDir(t, "#!/bin/bash\nfeedback-result success\n")
		req.Debug = messages.DebugSSH
		j := submit(t, cl, req)
		creds := sshCreds(t, j)
		sshSession(t, creds, "id", "uid=4242")
		if to := passwordsWentTo(creds.Password); len(to) != 1 || to[0] != subj.Client(cl.ID()) {
			t.Errorf("the credentials went to %v, want only %s", to, subj.Client(cl.ID()))
		}
		r := result(t, j)
		if r.Result.Status != messages.StatusError || !strings.HasPrefix(r.Result.Text, "[SSH Debug] The SSH session ended.") {
			t.Fatalf("result %+v", r.Result)
		}
	})

	t.Run("ssh_student", func(t *testing.T) {
		req := job("sshstudent-"+agentID, "docker-ssh/default", 0, nil)
		req.TaskDir = taskDir(t, "#!/bin/bash\nssh_student 2>/tmp/e\nfeedback-msg -m \"code=$? $(cat /task/student/made.txt /tmp/e)\"\nfeedback-result success\n")
		j := submit(t, cl, req)
		creds := sshCreds(t, j)
		sshSession(t, creds, "echo made >/task/student/made.txt; echo ok", "ok")
		r := result(t, j)
		if r.Result.Status != messages.StatusSuccess || r.Result.Text != "code=0 made" {
			t.Fatalf("result %+v", r.Result)
		}
	})

	// The setup and teardown scripts are the task's: the student's session
	// read them in /proc/1/cmdline, where its container's spec was.
	t.Run("ssh_student scripts hidden", func(t *testing.T) {
		const secret = "answer-SECRET-1234"
		req := job("sshscripts-"+agentID, "docker-ssh/default", 0, nil)
		req.TaskDir = taskDir(t, "#!/bin/bash\n"+
			"ssh_student --setup-script 'true "+secret+"' --teardown-script 'grep -q "+secret+" /task/student/answer || true' 2>/tmp/e\n"+
			"feedback-msg -m \"code=$? $(cat /tmp/e)\"\nfeedback-result success\n")
		j := submit(t, cl, req)
		creds := sshCreds(t, j)
		out := sshSession(t, creds, `tr '\0' ' ' </proc/1/cmdline; cat /proc/1/environ; echo; env; echo listed`, "listed")
		if strings.Contains(out, secret) {
			t.Errorf("the student's session read its container's scripts:\n%s", out)
		}
		if r := result(t, j); r.Result.Status != messages.StatusSuccess || !strings.HasPrefix(r.Result.Text, "code=0") {
			t.Fatalf("result %+v", r.Result)
		}
	})
}

// sshCreds waits for a job's SSH event.
func sshCreds(t *testing.T, j *frontendclient.Job) *messages.BackendJobSSHDebug {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case ev, ok := <-j.Events():
			if !ok {
				r := result(t, j)
				t.Fatalf("the job ended without SSH credentials: %s %q", r.Result.Status, r.Result.Text)
			}
			if ev.Kind == frontendclient.EventSSH {
				testutil.RegisterSecret(ev.SSH.Password, "an SSH debug password")
				return ev.SSH
			}
		case <-timeout:
			t.Fatal("no SSH credentials")
		}
	}
}

// sshSession logs in, runs cmd, checks its output, logs out, and returns
// the output.
func sshSession(t *testing.T, c *messages.BackendJobSSHDebug, cmd, want string) string {
	t.Helper()
	cfg := &ssh.ClientConfig{User: c.User, Auth: []ssh.AuthMethod{ssh.Password("not-" + c.Password)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	if _, err := ssh.Dial("tcp", addr, cfg); err == nil {
		t.Fatal("a wrong password was accepted")
	}
	cfg.Auth = []ssh.AuthMethod{ssh.Password(c.Password)}
	cl, err := ssh.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	s, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.CombinedOutput(cmd)
	if err != nil || !strings.Contains(string(out), want) {
		t.Fatalf("%s: %q, %v", cmd, out, err)
	}
	return string(out)
}
