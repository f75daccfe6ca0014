package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/config"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/tlsfiles"
)

// hintStartBackend ends every "cannot reach" error: the usual cause is
// that nothing was started yet.
const hintStartBackend = "is ingo running? Start it with `ingo up` (or `ingo backend --embedded-nats` and an agent), or point --nats-url / INGO_NATS_URL at your NATS server"

// dial opens a NATS connection to url as creds, with ingo's reconnect
// policy. It returns at once, connected or not: natsconn keeps trying in
// the background.
func (a *app) dial(url, name string, creds *natsauth.Credentials) (*nats.Conn, error) {
	o := natsconn.Options{URL: url, Name: name, Log: a.log, Creds: creds, InProcess: a.inProcess}
	if ca := a.cfg.NATS.TLSCA; ca != "" && o.InProcess == nil {
		tc, err := tlsfiles.ClientConfig(ca)
		if err != nil {
			return nil, fmt.Errorf("nats.tls-ca (INGO_NATS_TLS_CA): %w", err)
		}
		o.TLS = tc
	}
	if o.TLS == nil && o.InProcess == nil {
		a.warnClear(url)
	}
	nc, err := natsconn.Connect(o)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to NATS at %s: %w; %s", natsconn.Redact(url), err, hintStartBackend)
	}
	return nc, nil
}

// errRefused is what waitConnected says when the server turned the
// credentials down: waiting longer would not help.
var errRefused = errors.New("the NATS server refused the credentials")

// refusal says whether err is the server refusing who we are.
func refusal(err error) bool {
	return err != nil && (errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) ||
		errors.Is(err, nats.ErrAuthRevoked) || strings.Contains(strings.ToLower(err.Error()), "authorization violation"))
}

// warnClear says what a connection beyond this machine without a CA to
// require risks: the server may offer TLS, but a machine in the middle
// can hide that, read everything and log in with the signed greeting it
// relays. tls:// URLs (with a public CA's certificate) require TLS too.
func (a *app) warnClear(urls string) {
	for _, raw := range strings.Split(urls, ",") {
		raw = strings.TrimSpace(raw)
		if !strings.Contains(raw, "://") {
			raw = "nats://" + raw // as nats.go reads a bare host:port
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "tls" || u.Scheme == "wss" || loopbackHost(u.Hostname()) {
			continue
		}
		a.log.Warn("NATS beyond this machine without nats.tls-ca: TLS is not required, so anyone on the network path may read this connection and act as this component; set nats.tls-ca (INGO_NATS_TLS_CA) to the CA file of the server's certificate, or use tls:// URLs for a certificate of a public CA", "url", natsconn.Redact(raw))
		return
	}
}

// tlsTrouble explains a TLS failure, which waiting would not mend: the
// server's certificate is not one this side trusts, or one side wants TLS
// and the other does not offer it. "" for anything else.
func tlsTrouble(err error) string {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &unknown):
		return "the server's certificate is not signed by a CA this side trusts: set nats.tls-ca (INGO_NATS_TLS_CA) to the CA file that signed it (tls-ca.pem of ingo certs)"
	case errors.As(err, &host):
		return "the server's certificate is not for the host in nats.url: connect by a name or address it lists (ingo certs --host)"
	case errors.As(err, &invalid):
		return "the server's certificate is not valid now (expired?): issue a new one with ingo certs"
	case errors.Is(err, nats.ErrSecureConnWanted):
		return "this side requires TLS (nats.tls-ca or a tls:// URL) and the server does not offer it: give the server a certificate (backend.nats-tls-cert)"
	}
	return ""
}

// waitConnected blocks until nc is connected, ctx is done, or timeout
// passes (0: no timeout). Long-running components wait forever and say so
// every warnEvery; one-shot commands give up after client.connect-timeout.
func (a *app) waitConnected(ctx context.Context, nc *nats.Conn, timeout, warnEvery time.Duration) error {
	start := time.Now()
	lastWarn := start
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !nc.IsConnected() {
		if err := nc.LastError(); refusal(err) && a.cfg.NATS.Creds != "" {
			return fmt.Errorf("%w (%v): the credentials %s were revoked, or made with another installation's keys; make new ones with 'ingo creds --role ROLE --name NAME' where this installation's keys are, and pass them with --creds (INGO_NATS_CREDS)",
				errRefused, err, a.cfg.NATS.Creds)
		} else if refusal(err) {
			return fmt.Errorf("%w (%v): pass --creds FILE (INGO_NATS_CREDS) made by 'ingo creds' with this installation's keys; the CLI uses %s by default",
				errRefused, err, filepath.Join(config.DefaultDataDir(), natsauth.AdminCredsFile))
		} else if hint := tlsTrouble(err); hint != "" {
			return fmt.Errorf("NATS at %s: %w; %s", natsconn.Redact(a.cfg.NATS.URL), err, hint)
		}
		if nc.IsClosed() {
			return fmt.Errorf("NATS connection to %s closed", natsconn.Redact(a.cfg.NATS.URL))
		}
		if timeout > 0 && time.Since(start) >= timeout {
			return fmt.Errorf("cannot reach NATS at %s within %v: %s", natsconn.Redact(a.cfg.NATS.URL), timeout, hintStartBackend)
		}
		if warnEvery > 0 && time.Since(lastWarn) >= warnEvery {
			lastWarn = time.Now()
			a.log.Warn("still waiting for NATS; "+hintStartBackend, "url", natsconn.Redact(a.cfg.NATS.URL), "waited", time.Since(start).Round(time.Second))
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-tick.C:
		}
	}
	return nil
}

// openClient connects a frontend client and waits, at most
// client.connect-timeout, until the backend has answered it. close ends
// the client and the connection.
func (a *app) openClient(ctx context.Context) (c *frontendclient.Client, closeAll func(), err error) {
	creds, err := a.clientCreds()
	if err != nil {
		return nil, nil, err
	}
	return a.openClientOn(ctx, a.cfg.NATS.URL, creds)
}

// openClientOn is openClient for the NATS at natsURL, as creds: an admin
// client with the configured (or a random) id, or the frontend the
// credentials name.
func (a *app) openClientOn(ctx context.Context, natsURL string, creds *natsauth.Credentials) (c *frontendclient.Client, closeAll func(), err error) {
	timeout := a.cfg.Client.ConnectTimeout
	id, admin := a.cfg.Client.ClientID, true
	if creds != nil && creds.Role != natsauth.RoleAdmin {
		if creds.Role != natsauth.RoleFrontend {
			return nil, nil, fmt.Errorf("the NATS credentials are of role %s: the CLI needs an admin's or a frontend's", creds.Role)
		}
		if id != "" && id != creds.Name {
			return nil, nil, fmt.Errorf("client.id %q: a frontend's client id is the name in its credentials, %q", id, creds.Name)
		}
		id, admin = creds.Name, false
	}
	nc, err := a.dial(natsURL, a.cfg.Client.Name, creds)
	if err != nil {
		return nil, nil, err
	}
	if err := a.waitConnected(ctx, nc, timeout, 0); err != nil {
		closeConn(nc)
		return nil, nil, err
	}
	c, err = frontendclient.New(ctx, nc, frontendclient.Options{
		Name:           a.cfg.Client.Name,
		ClientID:       id,
		Admin:          admin,
		Prefix:         a.cfg.Prefix,
		PingInterval:   a.cfg.Client.PingInterval,
		RequestTimeout: a.cfg.Client.RequestTimeout,
		Log:            a.log,
	})
	if err != nil {
		closeConn(nc)
		return nil, nil, fmt.Errorf("start the client: %w", err)
	}
	closeAll = func() {
		if err := c.Close(); err != nil {
			a.log.Debug("close client", "err", err)
		}
		// Flush what the client published last before the connection
		// goes; the process may exit right after.
		_ = nc.FlushTimeout(time.Second)
		closeConn(nc)
	}
	readyCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := c.WaitReady(readyCtx); err != nil {
		closeAll()
		if ctx.Err() != nil {
			return nil, nil, context.Cause(ctx)
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, frontendclient.ErrNoAnswer) {
			return nil, nil, fmt.Errorf("NATS at %s answers, but no backend did within %v (subject prefix %q): is `ingo backend` running with the same --nats-url and prefix?",
				natsconn.Redact(a.cfg.NATS.URL), timeout, a.cfg.Prefix)
		}
		return nil, nil, fmt.Errorf("backend at %s: %w", natsconn.Redact(a.cfg.NATS.URL), err)
	}
	return c, closeAll, nil
}

// closeConn closes nc on purpose: without its disconnect handler, which
// would otherwise log the deliberate close as a lost connection.
func closeConn(nc *nats.Conn) {
	nc.SetDisconnectErrHandler(nil)
	nc.Close()
}
