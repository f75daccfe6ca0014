package helper

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/ingo-grader/ingo/containers/channel"
	"github.com/ingo-grader/ingo/containers/helper/sshserver"
)

// sshEnd is how an SSH server's life ended.
type sshEnd int

const (
	sshLeft    sshEnd = iota // somebody logged in, and everybody left
	sshNobody                // nobody logged in in time
	sshMax                   // the session reached its maximum
	sshStopped               // the helper was told to stop
	sshFailed                // it could not start
)

// sshServe is one SSH server of a container: grading (SSH debug) or
// student (ssh_student).
type sshServe struct {
	lim        *channel.SSHLimits
	env        []string
	dir        string
	record     string // transcripts' directory, session-N.log each
	recordFile string // or the one file they are appended to
	limit      int64  // transcripts' bound
	// quiet drops the per-connection warnings (a student container's
	// stderr is the ssh_student caller's).
	quiet bool
}

// newPassword is a random password of 16 letters and digits.
func newPassword() string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// run announces the credentials to the agent on m, serves the connections
// the agent relays, and returns when the server's life is over, with a
// reason for sshFailed.
func (s *sshServe) run(e *cmdEnv, m *mux, signals <-chan os.Signal) (sshEnd, string) {
	password := newPassword()
	var ctl sshControl
	srv, err := sshserver.New(sshserver.Options{
		User: channel.SSHUser, Password: password,
		Dir: s.dir, Env: s.env,
		Record: s.record, RecordFile: s.recordFile, RecordLimit: s.limit,
		HandshakeTimeout: s.lim.Handshake(),
		OnLogin:          ctl.loggedIn,
		Start:            startAsOOMVictim,
	})
	if err != nil {
		return sshFailed, err.Error()
	}
	ctx, cancel := context.WithCancel(context.Background())
	var conns sync.WaitGroup
	defer conns.Wait()
	defer cancel()
	m.setSSH(func(c net.Conn, h channel.Header) {
		conns.Add(1)
		defer conns.Done()
		if err := srv.Serve(ctx, &relayedConn{Conn: c, id: h.ID, source: sourceAddr(h.Remote)}); err != nil && !errors.Is(err, context.Canceled) && !s.quiet {
			e.warnf(Name, "ssh connection: %v", err)
		}
	})
	defer m.setSSH(nil)

	st, err := m.open(channel.Header{Kind: channel.KindSSHDebug, User: channel.SSHUser, Password: password})
	if err != nil {
		return sshFailed, "the agent cannot be reached: " + err.Error()
	}
	defer st.Close()
	ctl.set(st)
	ev, err := channel.NewLines[channel.Event](st).Next()
	switch {
	case err != nil:
		return sshFailed, "the agent did not answer: " + err.Error()
	case ev.Event != channel.EventListening:
		return sshFailed, ev.Reason
	}

	login := time.NewTimer(s.lim.Login())
	defer login.Stop()
	max := time.NewTimer(s.lim.Max())
	defer max.Stop()
	select {
	case <-srv.Logins():
	case <-login.C:
		return sshNobody, ""
	case <-max.C:
		return sshMax, ""
	case <-signals:
		return sshStopped, ""
	}
	for {
		select {
		case <-srv.Idle():
			if srv.Active() == 0 {
				return sshLeft, ""
			}
		case <-max.C:
			return sshMax, ""
		case <-signals:
			return sshStopped, ""
		}
	}
}

// relayedConn is a connection the agent relays, as the SSH server sees
// it: its RemoteAddr is the client's source as the agent saw it (the
// stream's own address says nothing), which the server throttles by.
type relayedConn struct {
	net.Conn
	id     string // for Control.LoggedIn
	source sourceAddr
}

func (c *relayedConn) RemoteAddr() net.Addr { return c.source }

// sourceAddr is a client's source as the agent names it (Header.Remote);
// "" from an agent that names none, which the server does not throttle
// by source.
type sourceAddr string

func (a sourceAddr) Network() string { return "tcp" }
func (a sourceAddr) String() string  { return string(a) }

// sshControl tells the agent, on the KindSSHDebug stream, which relayed
// connections have logged in: the agent bounds pending connections per
// source, and logged-in ones apart.
type sshControl struct {
	mu sync.Mutex
	w  io.Writer // nil until the stream is open
}

func (c *sshControl) set(w io.Writer) {
	c.mu.Lock()
	c.w = w
	c.mu.Unlock()
}

func (c *sshControl) loggedIn(conn net.Conn) {
	rc, ok := conn.(*relayedConn)
	if !ok || rc.id == "" {
		return // an agent that names no connection counts none
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w != nil {
		_ = channel.WriteLine(c.w, channel.Control{LoggedIn: rc.id})
	}
}

// sshDebugOutcome runs the grading container's SSH server instead of the
// run file (debug "ssh"); what the user set as feedback while logged in
// makes the result.
func sshDebugOutcome(e *cmdEnv, m *mux, in *Input, limit int64, signals <-chan os.Signal) *outcome {
	if m == nil {
		return &outcome{exitCode: -1, failure: &verdict{StatusCrash, "[SSH Debug] This agent cannot relay SSH to the container."}}
	}
	s := &sshServe{
		lim: in.SSH, env: runEnv(e, limit), dir: e.paths.Task,
		record: e.paths.Archive + "/ssh_logs", limit: limit / 2,
	}
	end, reason := s.run(e, m, signals)
	if os.Getpid() == 1 {
		killLeftovers(1) // the shells and what they started
		reapAll()
	}
	switch end {
	case sshNobody:
		return &outcome{exitCode: -1, failure: &verdict{StatusCrash, "[SSH Debug] Nobody connected to the SSH server."}}
	case sshFailed:
		return &outcome{exitCode: -1, failure: &verdict{StatusCrash, "[SSH Debug] The SSH server could not start: " + reason}}
	case sshStopped:
		return &outcome{exitCode: -1, failure: &verdict{StatusKilled, "[SSH Debug] The SSH session was stopped."}}
	}
	o := &outcome{exitCode: 0}
	if end == sshMax {
		o.sshNote = fmt.Sprintf("[SSH Debug] The SSH session reached its maximum of %s.", s.lim.Max())
	} else {
		o.sshNote = "[SSH Debug] The SSH session ended."
	}
	return o
}
