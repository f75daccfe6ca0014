package docker

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/channel"
)

// SSHOptions configure SSH debug and ssh_student. The agent listens on a
// port of [PortMin, PortMax] per SSH server and relays each connection
// into the container over its channel: the container keeps network "none".
type SSHOptions struct {
	// Listen is the address the agent binds ("0.0.0.0" by default).
	Listen string `key:"listen" check:"nonempty" help:"address where the agent listens for SSH debug and ssh_student connections, which it relays into the job's container (the container keeps no network)"`
	// Host is what clients are told to connect to. Default: Listen when it
	// is a specific address, else this machine's host name. Never guessed
	// by asking outside services.
	Host string `key:"host" help:"host name or address clients are told to connect to for SSH; empty: agent.ssh.listen when it is a specific address, else this machine's host name"`
	// PortMin and PortMax bound the ports; SSH is off while PortMax is 0.
	PortMin int `key:"port-min" help:"first port of the SSH range (one port per SSH session at once); 0 with port-max 0: SSH debug and ssh_student off"`
	PortMax int `key:"port-max" help:"last port of the SSH range"`
	// LoginTimeout: an SSH server nobody logged in to by then ends (2 min).
	LoginTimeout time.Duration `key:"login-timeout" check:"positive" help:"an SSH session nobody logged in to by then ends the job (crash, \"Nobody connected to the SSH server\")"`
	// MaxSession: an SSH server ends then whatever happens (30 min).
	MaxSession time.Duration `key:"max-session" check:"positive" help:"an SSH session ends then, whatever happens"`
	// HandshakeTimeout: the container's SSH server closes a connection
	// not logged in by then (20 s).
	HandshakeTimeout time.Duration `key:"handshake-timeout" check:"positive" help:"an SSH connection not logged in by then is closed"`
	// MaxConns bounds the logged-in connections per server (8).
	MaxConns int `key:"-"`
	// MaxPending bounds the connections not logged in yet per server (8),
	// and MaxPendingPerSource those of one source (3; see sshGate).
	MaxPending          int `key:"max-pending" check:"min=1" help:"SSH connections not logged in yet that one SSH session admits at once"`
	MaxPendingPerSource int `key:"max-pending-per-source" check:"min=1" help:"of these, how many one client address (IPv6: one /64) may hold, so that one address cannot keep others out"`
}

func (o *SSHOptions) defaults() {
	if o.Listen == "" {
		o.Listen = DefaultSSHListen
	}
	if o.Host == "" {
		if ip := net.ParseIP(o.Listen); ip != nil && !ip.IsUnspecified() {
			o.Host = o.Listen
		} else if h, err := os.Hostname(); err == nil {
			o.Host = h
		}
	}
	if o.PortMin <= 0 {
		o.PortMin = o.PortMax
	}
	if o.LoginTimeout <= 0 {
		o.LoginTimeout = channel.DefaultLoginTimeout
	}
	if o.MaxSession <= 0 {
		o.MaxSession = channel.DefaultMaxSession
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = channel.DefaultHandshakeTimeout
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 8
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultSSHMaxPending
	}
	if o.MaxPendingPerSource <= 0 {
		o.MaxPendingPerSource = DefaultSSHMaxPendingPerSource
	}
}

// Enabled tells whether SSH is on.
func (o SSHOptions) Enabled() bool { return o.PortMax > 0 && o.PortMin <= o.PortMax }

// limits are the SSH bounds the helpers get.
func (o SSHOptions) limits() *channel.SSHLimits {
	return &channel.SSHLimits{
		LoginTimeout: o.LoginTimeout.Seconds(), MaxSession: o.MaxSession.Seconds(),
		HandshakeTimeout: o.HandshakeTimeout.Seconds(),
	}
}

// portPool hands out listening ports of the range, one server each.
type portPool struct {
	opts SSHOptions
	mu   sync.Mutex
	used map[int]bool
}

func newPortPool(o SSHOptions) *portPool { return &portPool{opts: o, used: map[int]bool{}} }

// listen binds a free port of the range, starting at a random one so that
// ports are not reused at once (a client's stale known_hosts entry).
func (p *portPool) listen() (net.Listener, int, error) {
	if !p.opts.Enabled() {
		return nil, 0, fmt.Errorf("SSH is not enabled on this agent (no port range)")
	}
	n := p.opts.Ports()
	start := rand.IntN(n)
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 0; i < n; i++ {
		port := p.opts.PortMin + (start+i)%n
		if p.used[port] {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(p.opts.Listen, strconv.Itoa(port)))
		if err != nil {
			continue
		}
		p.used[port] = true
		return ln, port, nil
	}
	// Said at once, not waited out: the job ends (crash, with this text)
	// and frees its slot, rather than hold it for a port that other
	// sessions may keep for up to agent.ssh.max-session. The text names
	// the settings, for the operator the teacher forwards it to.
	return nil, 0, fmt.Errorf("no SSH port of this agent is free right now: its %d ports (%d-%d, agent.ssh.port-min to agent.ssh.port-max) are all in use by other SSH sessions or programs; retry later",
		n, p.opts.PortMin, p.opts.PortMax)
}

// full reports whether every port of the range is held by a session.
// A port another program holds is not counted: listen finds that out.
func (p *portPool) full() (bool, string) {
	n := p.opts.Ports()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.used) < n {
		return false, ""
	}
	return true, fmt.Sprintf("all %d SSH ports of the agent (%d-%d, agent.ssh.port-min to agent.ssh.port-max) are held by other SSH sessions",
		n, p.opts.PortMin, p.opts.PortMax)
}

func (p *portPool) release(port int) {
	p.mu.Lock()
	delete(p.used, port)
	p.mu.Unlock()
}

// sshRelay serves one container's SSH server: st is the container's
// KindSSHDebug stream (header already read), sess its session. It answers
// with the port, hands the credentials to onReady, relays connections until
// the container closes st or ctx ends, and returns then.
func (r *Runtime) sshRelay(ctx context.Context, st net.Conn, h channel.Header, sess *yamux.Session, onReady func(port int) error) {
	defer st.Close()
	ln, port, err := r.ports.listen()
	if err == nil {
		if err = onReady(port); err != nil {
			ln.Close()
			r.ports.release(port)
		}
	}
	if err != nil {
		_ = channel.WriteLine(st, channel.Event{Event: channel.EventExit, Code: channel.CodeLaunch, Reason: err.Error()})
		return
	}
	defer r.ports.release(port)
	if err := channel.WriteLine(st, channel.Event{Event: channel.EventListening, Port: port}); err != nil {
		ln.Close()
		return
	}
	r.log.Info("ssh server listening", "port", port, "user", h.User)

	rctx, cancel := context.WithCancel(ctx)
	gate := newSSHGate(r.opts.SSH)
	var wg sync.WaitGroup
	wg.Go(func() {
		// The container reports logins on its stream, and closes it when
		// its SSH server ends (a bad line ends the relay: only a broken
		// or hostile container sends one).
		defer cancel()
		lines := channel.NewLines[channel.Control](st)
		for {
			ctl, err := lines.Next()
			if err != nil {
				return
			}
			if ctl.LoggedIn != "" {
				gate.loggedIn(ctl.LoggedIn)
			}
		}
	})
	context.AfterFunc(rctx, func() { ln.Close() })
	for {
		c, err := ln.Accept()
		if err != nil {
			if rctx.Err() == nil {
				r.log.Warn("ssh: accept", "port", port, "err", err)
			}
			break
		}
		source := sshSource(c.RemoteAddr())
		id, refused := gate.admit(c, source)
		if id == "" {
			r.log.Debug("ssh connection refused", "port", port, "from", c.RemoteAddr(), "why", refused)
			c.Close()
			continue
		}
		r.log.Debug("ssh connection accepted", "port", port, "from", c.RemoteAddr(), "id", id)
		wg.Go(func() {
			defer gate.release(id)
			r.relayConn(rctx, c, sess, channel.Header{Kind: channel.KindSSH, ID: id, Remote: source})
		})
	}
	cancel()
	st.Close()
	wg.Wait()
}

// relayConn copies one TCP connection to a new KindSSH stream (header h)
// and back.
func (r *Runtime) relayConn(ctx context.Context, c net.Conn, sess *yamux.Session, h channel.Header) {
	defer c.Close()
	s, err := sess.OpenStream()
	if err != nil {
		r.log.Warn("ssh connection not relayed: the container's channel is closed", "from", c.RemoteAddr(), "err", err)
		return
	}
	r.log.Debug("ssh connection relayed", "from", c.RemoteAddr())
	defer s.Close()
	if err := channel.WriteHeader(s, h); err != nil {
		return
	}
	stop := context.AfterFunc(ctx, func() { c.Close(); s.Close() })
	defer stop()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(s, c)
		_ = s.Close()
		close(done)
	}()
	_, _ = io.Copy(c, s)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	select {
	case <-done:
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
	}
}

// sshReady hands an SSH server's credentials to the attempt's events,
// which send them to the job's client only.
func sshReady(ev containers.Events, host string, h channel.Header) func(int) error {
	return func(port int) error {
		if ev == nil {
			return fmt.Errorf("nobody to send the SSH credentials to")
		}
		ev.SSHDebug(host, port, h.User, h.Password)
		return nil
	}
}
