package security

import (
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/ssh"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/messages"
)

// Attacks through grading itself: a grader's memory, SSH debug, and two
// installations sharing one Docker host.

// attackMemory (9): a grader gets its memory limit, files it writes
// included, whatever its disk limit says.
func attackMemory(t *testing.T, s *suite) {
	for _, row := range []struct {
		name, what, limits, cmd string
	}{
		{"alloc", "grader allocating 160 MiB under memory: 100", "time: 30\nmemory: 100",
			`python3 -c "b = b'x' * (160 << 20)"`},
		{"alloc-disk", "grader allocating 160 MiB under memory: 100, disk: 4096", "time: 30\nmemory: 100\ndisk: 4096",
			`python3 -c "b = b'x' * (160 << 20)"`},
		{"files", "grader writing 160 MiB to /task under memory: 100, disk: 4096", "time: 30\nmemory: 100\ndisk: 4096",
			`head -c 167772160 /dev/zero > /task/big`},
	} {
		attack(t, row.name, row.what, func(t *testing.T, r *record) {
			run := "#!/bin/sh\n" + row.cmd + "\nfeedback-result success\nfeedback-msg -m \"160 MiB held\"\n"
			dir := task(t, s.root, "memory", row.name, row.limits, run, nil)
			out, _, err := s.a.cli(t, "submit", dir, "--wait", "--json")
			if err != nil {
				t.Fatal(err)
			}
			res, err := parseResult(out)
			if err != nil {
				t.Fatal(err)
			}
			r.add("%s (%s)", res.Status, short(res.Text))
			if res.Status != string(messages.StatusOverflow) {
				t.Errorf("status %s, want overflow", res.Status)
			}
		})
	}
}

var (
	sshLine      = regexp.MustCompile(`ssh -p (\d+) (\S+)@(\S+)`)
	passwordLine = regexp.MustCompile(`password: (\S+)`)
)

// attackSSH (11): idle connections from one address do not keep a user
// from another out, and wrong passwords end a connection.
func attackSSH(t *testing.T, s *suite) {
	dir := task(t, s.root, "security", "ssh-debug", "time: 60\nmemory: 100", sleeper(0), nil)
	sub := s.a.startCLI(t, "ingo submit --ssh", "submit", dir, "--ssh", "--json")
	var addr, user, password string
	deadline := time.Now().Add(jobWait)
	for {
		out := sub.Output()
		if m, p := sshLine.FindStringSubmatch(out), passwordLine.FindStringSubmatch(out); m != nil && p != nil {
			addr, user, password = net.JoinHostPort(m[3], m[1]), m[2], p[1]
			break
		}
		if sub.Exited() || time.Now().After(deadline) {
			t.Fatalf("ingo submit --ssh printed no ssh line and password:\n%s", tail(out, 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.addSecret("the SSH debug password", password)

	var idle []net.Conn
	t.Cleanup(func() {
		for _, c := range idle {
			c.Close()
		}
	})
	attack(t, "idle-flood", "8 idle TCP connections from 127.0.0.2 to the SSH debug port", func(t *testing.T, r *record) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
		held, closed := 0, 0
		for range 8 {
			c, err := d.Dial("tcp", addr)
			if err != nil {
				closed++
				continue
			}
			idle = append(idle, c)
			// An admitted connection hears the server's version line; a
			// refused one is closed at once.
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 4)
			if _, err := io.ReadFull(c, buf); err == nil && string(buf) == "SSH-" {
				held++
			} else {
				closed++
			}
		}
		r.add("%d held (SSH banner, then idle), %d closed at once", held, closed)
		if held > 3 {
			t.Errorf("one address holds %d connections not logged in, over agent.ssh.max-pending-per-source (3)", held)
		}
	})

	var client *ssh.Client
	attack(t, "login", "meanwhile, log in from 127.0.0.1 with the job's password and run id", func(t *testing.T, r *record) {
		var err error
		client, err = ssh.Dial("tcp", addr, &ssh.ClientConfig{
			User: user, Auth: []ssh.AuthMethod{ssh.Password(password)},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second,
		})
		if err != nil {
			r.add("LOCKED OUT (%s)", short(err))
			t.Fatal(err)
		}
		sess, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		out, err := sess.Output("id")
		r.add("logged in; id: %s", short(strings.TrimSpace(string(out))))
		if err != nil || !strings.Contains(string(out), "uid=") {
			t.Errorf("id: %v %q", err, out)
		}
	})

	attack(t, "wrong-passwords", "wrong passwords, again and again, on one connection from 127.0.0.1", func(t *testing.T, r *record) {
		tries := 0
		guess := ssh.RetryableAuthMethod(ssh.PasswordCallback(func() (string, error) {
			tries++
			return fmt.Sprintf("guess-%d", tries), nil
		}), 20)
		c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
			User: user, Auth: []ssh.AuthMethod{guess},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 60 * time.Second,
		})
		if err == nil {
			c.Close()
			r.add("LOGGED IN after %d guesses", tries)
			t.Fatal("a wrong password was accepted")
		}
		r.add("connection closed after %d attempts (%s)", tries, short(err))
		if tries > 3 {
			t.Errorf("%d password attempts on one connection, over 3", tries)
		}
	})

	attack(t, "logout", "log out, close the idle connections: the SSH debug job", func(t *testing.T, r *record) {
		if client != nil {
			client.Close()
		}
		for _, c := range idle {
			c.Close()
		}
		waitProcess(t, sub, jobWait)
		res, err := parseResult(sub.Output())
		if err != nil {
			t.Fatal(err)
		}
		r.add("ended %s (%s)", res.Status, short(res.Text))
	})
}

// attackTwoInstallations (12): two ingo up on one Docker host, each with
// an agent named after the host, grade at once while both clean up every
// second: neither removes the other's containers.
func attackTwoInstallations(t *testing.T, s *suite) {
	s.b = startUp(t, s.tmp, "b", upOptions{})
	defer func() {
		if err := s.b.stop(); err != nil {
			t.Errorf("stop ingo up b: %v", err)
		}
	}()
	attack(t, "grading", "two ingo up on one Docker host, 4 jobs (sleep 2) on each at once, both agents cleaning up every second", func(t *testing.T, r *record) {
		type outcome struct {
			agents   []string
			statuses map[string]int
			texts    []string
		}
		var mu sync.Mutex
		outcomes := map[string]*outcome{}
		var wg sync.WaitGroup
		for _, in := range []*installation{s.a, s.b} {
			admin := s.admin
			if in != s.a {
				admin = in.client(t, natsauth.RoleAdmin, "security-admin")
			}
			o := &outcome{statuses: map[string]int{}, agents: agentIDs(t, admin)}
			outcomes[in.name] = o
			dir := task(t, in.dir, "security", "two-hosts", "time: 30\nmemory: 100", sleeper(2), nil)
			for i := range 4 {
				j := submit(t, admin, newJob(fmt.Sprintf("two-%s-%d-%s", in.name, i, uuid.NewString()[:8]), dir))
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(context.Background(), jobWait)
					defer cancel()
					res, err := j.Wait(ctx)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						o.statuses["no result"]++
						return
					}
					o.statuses[string(res.Result.Status)]++
					if res.Result.Status != messages.StatusSuccess {
						o.texts = append(o.texts, short(res.Result.Text))
					}
				})
			}
		}
		wg.Wait()
		for _, name := range []string{"a", "b"} {
			o := outcomes[name]
			r.add("installation %s (agent %s): %s%s", name, strings.Join(o.agents, ","), counts(o.statuses), texts(o.texts))
			if o.statuses[string(messages.StatusSuccess)] != 4 {
				t.Errorf("installation %s: %v %v", name, o.statuses, o.texts)
			}
		}
	})
}

func agentIDs(t *testing.T, admin *frontendclient.Client) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := admin.Queue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range q.Agents {
		if a.Slots > 0 { // not agent mallory of attack 4
			ids = append(ids, a.AgentID)
		}
	}
	return ids
}

func counts(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func texts(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return " [" + strings.Join(list, " | ") + "]"
}
