package docker

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/ingo-grader/ingo/containers/channel"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// The agent's side of ssh_student takes one stream from the student
// container, its SSH server's; a second one (the student's code writing
// to the channel), or one of another kind, ends the session and says so,
// and every port it took is free again. Before, each ssh_debug stream
// took a port of the range. No container: the helper's side is a yamux
// client on a pipe.
func TestStudentSSHTakesOneStream(t *testing.T) {
	for _, tc := range []struct {
		name   string
		second *channel.Header // nil: none
		kind   string          // the first stream's
		ok     bool
	}{
		{"one server", nil, channel.KindSSHDebug, true},
		{"a second ssh_debug", &channel.Header{Kind: channel.KindSSHDebug, User: "evil", Password: "pw"}, channel.KindSSHDebug, false},
		{"a second of another kind", &channel.Header{Kind: channel.KindResult}, channel.KindSSHDebug, false},
		{"another kind first", nil, channel.KindResult, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, c, ev := studentSSHChannel(t)
			toAgent, fromHelper := io.Pipe()
			toHelper, fromAgent := io.Pipe()
			done := make(chan bool, 1)
			go func() { done <- c.serveStudentSSH(t.Context(), toAgent, fromAgent) }()
			helper, err := yamux.Client(muxConn{toHelper, fromHelper}, channel.Config())
			if err != nil {
				t.Fatal(err)
			}
			// Close waits for the session's reader: end its pipe first.
			closeHelper := func() {
				toHelper.Close()
				fromHelper.Close()
				helper.Close()
			}
			defer closeHelper()
			open := func(h channel.Header) error {
				st, err := helper.OpenStream()
				if err != nil {
					return err
				}
				return channel.WriteHeader(st, h)
			}
			if err := open(channel.Header{Kind: tc.kind, User: "worker", Password: "secret"}); err != nil {
				t.Fatal(err)
			}
			if tc.kind == channel.KindSSHDebug {
				waitCreds(t, ev) // the relay listens
			}
			if tc.second != nil {
				_ = open(*tc.second) // the agent may end the session before its header is written
			}
			if tc.ok {
				// The container ends: its side of the channel closes.
				closeHelper()
			}
			select {
			case ok := <-done:
				if ok != tc.ok {
					t.Errorf("serveStudentSSH = %v, want %v", ok, tc.ok)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("serveStudentSSH did not end")
			}
			r.ports.mu.Lock()
			defer r.ports.mu.Unlock()
			if len(r.ports.used) != 0 {
				t.Errorf("ports still taken: %v", r.ports.used)
			}
		})
	}
}

// A job serves one ssh_student session holding a port at a time: a second
// student container of the same job asking for one while the first is
// served is told so, and takes no port. Before, each took one, so that
// one job whose run file started ssh_student many times in the
// background held the agent's whole range.
func TestStudentSSHOneSessionPerJob(t *testing.T) {
	r, c, ev := studentSSHChannel(t)
	// student starts one student container's side: its helper's yamux
	// client, which opens its SSH server's stream.
	student := func() (st net.Conn, done <-chan bool, end func()) {
		toAgent, fromHelper := io.Pipe()
		toHelper, fromAgent := io.Pipe()
		served := make(chan bool, 1)
		go func() { served <- c.serveStudentSSH(t.Context(), toAgent, fromAgent) }()
		helper, err := yamux.Client(muxConn{toHelper, fromHelper}, channel.Config())
		if err != nil {
			t.Fatal(err)
		}
		end = func() {
			toHelper.Close()
			fromHelper.Close()
			helper.Close()
		}
		t.Cleanup(end)
		s, err := helper.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		if err := channel.WriteHeader(s, channel.Header{Kind: channel.KindSSHDebug, User: "worker", Password: "secret"}); err != nil {
			t.Fatal(err)
		}
		return s, served, end
	}
	_, firstDone, endFirst := student()
	waitCreds(t, ev)
	second, _, _ := student()
	var e channel.Event
	if err := json.NewDecoder(second).Decode(&e); err != nil || e.Event != channel.EventExit || e.Code != channel.CodeLaunch {
		t.Fatalf("the second session got %+v, %v; want an exit with CodeLaunch", e, err)
	}
	r.ports.mu.Lock()
	held := len(r.ports.used)
	r.ports.mu.Unlock()
	if held != 1 {
		t.Errorf("%d ports held, want the first session's only", held)
	}
	endFirst()
	select {
	case <-firstDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the first session did not end")
	}
	// Once it ended, another may start.
	_, thirdDone, endThird := student()
	waitCreds(t, ev)
	endThird()
	<-thirdDone
}

// studentSSHChannel is a job's channel on a runtime with SSH on four
// loopback ports and no Docker.
func studentSSHChannel(t *testing.T) (*Runtime, *jobChannel, *sshEvents) {
	base := testutil.FreePorts(t, 4)
	r := &Runtime{opts: Options{SSH: SSHOptions{Listen: "127.0.0.1", PortMin: base, PortMax: base + 3}}, log: slog.New(slog.DiscardHandler)}
	r.opts.APITimeout = time.Second
	r.ports = newPortPool(r.opts.SSH)
	ev := newSSHEvents()
	c := &jobChannel{r: r, ev: ev, job: newJob(r, nil, nil)}
	c.job.Desc = &messages.JobDescription{JobID: "j"}
	return r, c, ev
}
