package helper

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/ingo-grader/ingo/containers/channel"
)

// startTestMux starts the helper's side of a channel with its socket at
// sock, and returns the agent's side of the session.
func startTestMux(t *testing.T, sock string) *yamux.Session {
	t.Helper()
	helperIn, agentOut := io.Pipe()
	agentIn, helperOut := io.Pipe()
	e := &cmdEnv{stdin: helperIn, stdout: helperOut, stderr: io.Discard, getenv: os.Getenv}
	ready := make(chan *mux, 1)
	go func() {
		m, err := startMux(e, sock)
		if err != nil {
			t.Error(err)
		}
		ready <- m
	}()
	// The agent's side: past the marker, a yamux server.
	out := bufio.NewReader(agentIn)
	if _, err := out.ReadString('\n'); err != nil { // the empty line before the marker
		t.Fatal(err)
	}
	if line, err := out.ReadString('\n'); err != nil || line != channel.Marker+"\n" {
		t.Fatalf("marker %q, %v", line, err)
	}
	sess, err := yamux.Server(stdio{out, agentOut}, channel.Config())
	if err != nil {
		t.Fatal(err)
	}
	m := <-ready
	t.Cleanup(func() {
		// The pipes first: each session's Close waits for its reader.
		for _, c := range []io.Closer{helperIn, helperOut, agentIn, agentOut} {
			c.Close()
		}
		sess.Close()
		if m != nil {
			m.close()
		}
	})
	if m == nil {
		t.FailNow()
	}
	return sess
}

// TestProxyEndsWhenTheAgentCloses: once the agent closed its side of a
// proxied stream (a call over, a stream refused), the proxy closes the
// stream and the connection, whatever the local process does. Before, it
// waited for the process to close its side: one that kept writing kept
// the stream open in the agent, which drains it, for as long as it liked.
func TestProxyEndsWhenTheAgentCloses(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "channel.sock")
	sess := startTestMux(t, sock)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := channel.WriteHeader(c, channel.Header{Kind: channel.KindStdin, ID: "x"}); err != nil {
		t.Fatal(err)
	}
	st, err := sess.AcceptStream()
	if err != nil {
		t.Fatal(err)
	}
	if h, _, err := channel.ReadHeader(st); err != nil || h.Kind != channel.KindStdin {
		t.Fatalf("header %+v, %v", h, err)
	}
	// The process keeps writing and never closes its connection.
	go func() {
		chunk := make([]byte, 32<<10)
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	st.Close() // the agent is done with it
	drained := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, st)
		drained <- err
	}()
	select {
	case <-drained:
	case <-time.After(20 * time.Second): // a failure bound only
		t.Fatal("the helper kept the stream open after the agent closed it")
	}
}

// TestStudentCallWaitsForReady: run_student opens its io streams only
// after the agent's EventReady, and takes an EventExit that comes
// instead (no slot for it, the job ended) as its end.
func TestStudentCallWaitsForReady(t *testing.T) {
	for _, tt := range []struct {
		name  string
		ready bool
		code  int
		out   string
	}{
		{"exit before ready", false, channel.CodeLaunch, ""},
		{"ready, then the command's end", true, 3, "from the student"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			sess := startTestMux(t, root+channel.SocketPath)
			var stdout, stderr bytes.Buffer
			e := &cmdEnv{paths: Paths{Root: root}, stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
			called := make(chan error, 1)
			go func() { called <- studentCall(e, "run_student", []string{"true"}) }()

			ctl, err := sess.AcceptStream()
			if err != nil {
				t.Fatal(err)
			}
			if h, _, err := channel.ReadHeader(ctl); err != nil || h.Kind != channel.KindStudent {
				t.Fatalf("first stream %+v, %v; want the call", h, err)
			}
			early := make(chan *yamux.Stream, 1)
			go func() {
				if st, err := sess.AcceptStream(); err == nil {
					early <- st
				}
			}()
			select {
			case <-early:
				t.Fatal("an io stream came before EventReady")
			case <-time.After(200 * time.Millisecond):
			}
			if !tt.ready {
				_ = channel.WriteLine(ctl, channel.Event{Event: channel.EventExit, Code: channel.CodeLaunch, Reason: "the job ended"})
				ctl.Close()
			} else {
				if err := channel.WriteLine(ctl, channel.Event{Event: channel.EventReady}); err != nil {
					t.Fatal(err)
				}
				kinds := map[string]*yamux.Stream{}
				for len(kinds) < 3 {
					var st *yamux.Stream
					select {
					case st = <-early:
					case <-time.After(20 * time.Second):
						t.Fatal("the io streams did not come after EventReady")
					}
					h, _, err := channel.ReadHeader(st)
					if err != nil {
						t.Fatal(err)
					}
					kinds[h.Kind] = st
					go func() {
						if st, err := sess.AcceptStream(); err == nil {
							early <- st
						}
					}()
				}
				fmt.Fprint(kinds[channel.KindStdout], tt.out)
				kinds[channel.KindStdout].Close()
				kinds[channel.KindStderr].Close()
				_ = channel.WriteLine(ctl, channel.Event{Event: channel.EventExit, Code: tt.code})
				ctl.Close()
			}
			var err2 error
			select {
			case err2 = <-called:
			case <-time.After(20 * time.Second):
				t.Fatal("run_student did not end")
			}
			var ee *exitError
			if !errors.As(err2, &ee) || ee.code != tt.code {
				t.Errorf("run_student returned %v, want exit code %d", err2, tt.code)
			}
			if stdout.String() != tt.out {
				t.Errorf("stdout %q, want %q", stdout.String(), tt.out)
			}
		})
	}
}
