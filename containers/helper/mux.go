package helper

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/ingo-grader/ingo/containers/channel"
)

// resultAckTimeout bounds the wait for the agent to confirm it read the
// whole result (it closes the result stream).
const resultAckTimeout = 10 * time.Second

// mux is the helper's side of the channel to the agent (containers/channel):
// a yamux session on its stdin and stdout, and the unix socket through which
// run_student and ssh_student reach it.
type mux struct {
	e    *cmdEnv
	sess *yamux.Session
	ln   net.Listener
	sock string

	mu  sync.Mutex
	ssh func(net.Conn, channel.Header) // serves a relayed SSH connection; nil: refused

	wg        sync.WaitGroup
	closeOnce sync.Once
}

// stdio is the helper's stdin and stdout as one connection for yamux.
type stdio struct {
	io.Reader
	io.Writer
}

// Close does nothing: the process exits once the result is sent.
func (stdio) Close() error { return nil }

// startMux writes the marker and starts the session; sock is the unix
// socket's path. Processes of the container reach the agent through it.
func startMux(e *cmdEnv, sock string) (*mux, error) {
	if _, err := io.WriteString(e.stdout, "\n"+channel.Marker+"\n"); err != nil {
		return nil, fmt.Errorf("writing the channel marker: %w", err)
	}
	sess, err := yamux.Client(stdio{e.stdin, e.stdout}, channel.Config())
	if err != nil {
		return nil, fmt.Errorf("starting the channel: %w", err)
	}
	m := &mux{e: e, sess: sess, sock: sock}
	if sock != "" {
		_ = os.Remove(sock)
		if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
			e.warnf(Name, "channel socket: %v", err)
		} else if ln, err := net.Listen("unix", sock); err != nil {
			e.warnf(Name, "channel socket: %v", err)
		} else {
			_ = os.Chmod(sock, 0o700)
			m.ln = ln
			m.wg.Add(1)
			go m.serveLocal()
		}
	}
	go m.acceptRemote() // ends with the session
	return m, nil
}

// setSSH makes relayed SSH connections go to serve, with their header
// (the connection's ID and source).
func (m *mux) setSSH(serve func(net.Conn, channel.Header)) {
	m.mu.Lock()
	m.ssh = serve
	m.mu.Unlock()
}

// open opens a stream with a header.
func (m *mux) open(h channel.Header) (*yamux.Stream, error) {
	st, err := m.sess.OpenStream()
	if err != nil {
		return nil, err
	}
	if err := channel.WriteHeader(st, h); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// acceptRemote takes the streams the agent opens: relayed SSH connections.
func (m *mux) acceptRemote() {
	for {
		st, err := m.sess.AcceptStream()
		if err != nil {
			return // the session ended
		}
		go func() {
			h, _, err := channel.ReadHeader(st)
			m.mu.Lock()
			serve := m.ssh
			m.mu.Unlock()
			if err != nil || h.Kind != channel.KindSSH || serve == nil {
				st.Close()
				return
			}
			serve(st, h)
		}()
	}
}

// localKinds are the streams processes of the container may open.
var localKinds = map[string]bool{
	channel.KindStudent: true,
	channel.KindStdin:   true,
	channel.KindStdout:  true,
	channel.KindStderr:  true,
}

// serveLocal proxies each connection of the unix socket to a new stream.
func (m *mux) serveLocal() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			return
		}
		go m.proxy(c.(*net.UnixConn))
	}
}

// proxy relays one local connection, its header first, to a new stream,
// both ways, each direction closed on its own (half-close), until the
// agent closed its side: the agent is then done with the stream (a call's
// stdin, control or output after its end, or a stream it refused), and
// the proxy closes it and the connection without waiting for the local
// process. Otherwise a process that kept its side open kept the stream
// open in the agent, which drains it (and counts such streams) until then.
func (m *mux) proxy(c *net.UnixConn) {
	defer c.Close()
	h, line, err := channel.ReadHeader(c)
	if err != nil || !localKinds[h.Kind] {
		msg := fmt.Sprintf("refused: %v", err)
		if err == nil {
			msg = fmt.Sprintf("refused: kind %q", h.Kind)
		}
		_ = channel.WriteLine(c, channel.Event{Event: channel.EventExit, Code: channel.CodeLaunch, Reason: msg})
		return
	}
	st, err := m.sess.OpenStream()
	if err != nil {
		_ = channel.WriteLine(c, channel.Event{Event: channel.EventExit, Code: channel.CodeLaunch, Reason: "the agent's channel is closed"})
		return
	}
	defer st.Close()
	if _, err := st.Write(line); err != nil {
		return
	}
	go func() {
		_, _ = io.Copy(st, c)
		_ = st.Close() // FIN: the agent reads to the end, can still write
	}()
	_, _ = io.Copy(c, st)
	_ = c.CloseWrite()
	// The deferred closes end the upward copy: its read of c fails, or
	// its write to st.
}

// sendResult hands the result to the agent on a KindResult stream, framed
// (channel.WriteResult), and waits until the agent closed the stream (it read the
// whole frame).
func (m *mux) sendResult(data []byte) error {
	if m.sess.IsClosed() {
		return errors.New("the channel is closed")
	}
	st, err := m.open(channel.Header{Kind: channel.KindResult})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := channel.WriteResult(st, data); err != nil {
		return err
	}
	_ = st.SetReadDeadline(time.Now().Add(resultAckTimeout))
	if _, err := io.Copy(io.Discard, st); err != nil {
		return fmt.Errorf("waiting for the agent to take the result: %w", err)
	}
	return nil
}

// close ends the socket and the session, without waiting for the session.
func (m *mux) close() {
	m.closeOnce.Do(func() {
		if m.ln != nil {
			m.ln.Close()
			_ = os.Remove(m.sock)
		}
		// Session.Close waits for its reader, which is blocked on stdin
		// until the agent closes it: the process is about to exit anyway.
		go m.sess.Close()
		m.wg.Wait()
	})
}
