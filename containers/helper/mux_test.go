package helper

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/ingo-grader/ingo/containers/channel"
)

// TestProxyEndsWhenTheAgentCloses: once the agent closed its side of a
// proxied stream (a call over, a stream refused), the proxy closes the
// stream and the connection, whatever the local process does. Before, it
// waited for the process to close its side: one that kept writing kept
// the stream open in the agent, which drains it, for as long as it liked.
func TestProxyEndsWhenTheAgentCloses(t *testing.T) {
	helperIn, agentOut := io.Pipe()
	agentIn, helperOut := io.Pipe()
	sock := filepath.Join(t.TempDir(), "channel.sock")
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
	sess, err := yamux.Server(muxPipe{out, agentOut}, channel.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		// The pipes first: each session's Close waits for its reader.
		for _, c := range []io.Closer{helperIn, helperOut, agentIn, agentOut} {
			c.Close()
		}
		sess.Close()
	}()
	m := <-ready
	if m == nil {
		t.FailNow()
	}
	defer m.close()

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

// muxPipe is the agent's end of the helper's stdio.
type muxPipe struct {
	io.Reader
	io.Writer
}

func (muxPipe) Close() error { return nil }
