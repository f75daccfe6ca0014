package natsconn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/messages"
)

// Options for Connect.
type Options struct {
	URL  string
	Name string // shown in NATS monitoring, e.g. "ingo-agent host1"
	Log  *slog.Logger
	// OnReconnect runs after every reconnect; components say hello again.
	OnReconnect func()
	// ReconnectWait is the pause between attempts (default 250ms).
	ReconnectWait time.Duration
	// Creds is who connects. The servers ingo starts admit nobody
	// without credentials; nil connects anonymously, which only an
	// external server without authentication accepts.
	Creds *natsauth.Credentials
	// TLS, when set, is required: the connection fails rather than go
	// on in clear, so a machine in the middle cannot strip it. Its
	// RootCAs are the CAs trusted (nil: the system's).
	TLS *tls.Config
	// InProcess, when set, connects to a server in this process
	// through a pipe: nothing on the network, so no TLS either. URL
	// then only names it in logs.
	InProcess nats.InProcessConnProvider
}

// Redact hides the password (or token) of a NATS URL, or of a
// comma-separated list of them, for logs and errors.
func Redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, raw := range parts {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil {
			if strings.Contains(raw, "@") {
				parts[i] = "<unparsable URL with credentials>"
			}
			continue
		}
		if u.User != nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			} else {
				u.User = url.User("xxxxx") // a bare token
			}
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// Connect dials NATS with ingo's connection policy: retry the first
// connection, reconnect forever, and buffer what is published meanwhile.
func Connect(o Options) (*nats.Conn, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.ReconnectWait == 0 {
		o.ReconnectWait = 250 * time.Millisecond
	}
	refusals := &refusalLog{}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(o.ReconnectWait),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(true),
		// What is published during an outage waits here (64 MiB) and is
		// sent on reconnect; past that Publish fails loudly.
		nats.ReconnectBufSize(64 << 20),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err == nil {
				return // our own Close: nothing went wrong
			}
			log.Warn("disconnected from NATS", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("reconnected to NATS", "url", nc.ConnectedUrlRedacted())
			if o.OnReconnect != nil {
				o.OnReconnect()
			}
		}),
		// nats.go closes a connection for good when the server refuses
		// its credentials twice in a row: the process then ran on without
		// NATS, never reconnecting nor exiting. A refusal may pass (a node
		// restarted with another block, keys being rotated), so keep
		// trying, as for any outage, and say what to do.
		nats.IgnoreAuthErrorAbort(),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if Refused(err) {
				refusals.log(log, err)
				return
			}
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Error("NATS error", "subject", subject, "err", err)
		}),
	}
	if o.Creds != nil {
		opts = append(opts, o.Creds.NATSOptions()...)
	}
	url := o.URL
	switch {
	case o.InProcess != nil:
		opts = append(opts, nats.InProcessServer(o.InProcess))
		// A tls:// URL (a TLS server's ClientURL) would have nats.go
		// start TLS on the pipe, checking a certificate made for the
		// network's names.
		if rest, ok := strings.CutPrefix(url, "tls://"); ok {
			url = "nats://" + rest
		}
	case o.TLS != nil:
		opts = append(opts, nats.Secure(o.TLS.Clone()))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", Redact(o.URL), err)
	}
	return nc, nil
}

// Send encodes m and publishes it on subject with the given reply subject.
func Send(nc *nats.Conn, subject, reply string, m messages.Message) error {
	data, err := Encode(nc, m)
	if err != nil {
		return err
	}
	if err := nc.PublishMsg(&nats.Msg{Subject: subject, Reply: reply, Data: data}); err != nil {
		return fmt.Errorf("publish %s on %s: %w", m.MessageName(), subject, err)
	}
	return nil
}

// Encode encodes m for nc, refusing what the server would refuse: a
// message over its max_payload.
func Encode(nc *nats.Conn, m messages.Message) ([]byte, error) {
	data, err := messages.Encode(m)
	if err != nil {
		return nil, err
	}
	if err := Fits(nc, m.MessageName(), data); err != nil {
		return nil, err
	}
	return data, nil
}

// Fits refuses data, an encoded message named name, if it is over what
// nc's server accepts (its max_payload).
func Fits(nc *nats.Conn, name string, data []byte) error {
	if max := nc.MaxPayload(); max > 0 && int64(len(data)) > max {
		return fmt.Errorf("%s of %d bytes is over the NATS server's max_payload of %d bytes", name, len(data), max)
	}
	return nil
}

// IsStatus reports whether m is a status message from the NATS server
// rather than an ingo message: NATS answers a publish with a reply subject
// that nobody receives (the backend is down) with an empty "503" status on
// that reply subject, which is our own subject. It is a signal, not garbage.
func IsStatus(m *nats.Msg) bool {
	return len(m.Data) == 0 && m.Header.Get("Status") != ""
}

// Foreign reports whether m, arriving on an ingo subject, cannot be an
// ingo message: no ingo peer sends headers, and the server's status (see
// IsStatus) has no data. What has both is the NATS server's answer to
// somebody's JetStream request: a direct get's answer carries a stored
// message, with its stream, subject and sequence in headers the server
// adds, and the server publishes it on whatever reply subject the
// requester chose, with the server's authority, past the requester's
// publish permissions. Taken as what it says, a message a frontend stored
// in the bundle store would arrive on an agent's subject as if that agent
// had sent it. The receivers of ingo subjects drop these.
func Foreign(m *nats.Msg) bool {
	return len(m.Header) > 0 && !IsStatus(m)
}

// ForeignStored is Foreign for a message read back from a stream: one
// that the server published there on a requester's behalf (a direct
// get's answer, with its headers), a JetStream API answer (JSON, which no
// ingo record is: they are CBOR or start with their own magic), or a
// status (stored empty: no ingo record is). It reads headers as nats.go
// parsed them, which a raw-protocol client can shape (a blank line inside
// a stored header block hides what follows, and a direct get may be asked
// for without headers): what it lets through must still decode as a
// record, and only the backend may ask for a stored message's bytes
// (package natsauth).
func ForeignStored(h nats.Header, data []byte) bool {
	if len(data) == 0 {
		return true
	}
	for _, k := range []string{"Nats-Stream", "Nats-Sequence", "Nats-Subject", "Nats-Time-Stamp"} {
		if _, ok := h[k]; ok {
			return true
		}
	}
	return data[0] == '{'
}

// Refused says whether err is the NATS server refusing who we are:
// credentials revoked, expired, or signed by other keys.
func Refused(err error) bool {
	return err != nil && (errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) ||
		errors.Is(err, nats.ErrAuthRevoked) || strings.Contains(strings.ToLower(err.Error()), "authorization violation"))
}

// refusalLog says that the server refuses the credentials, at most once a
// minute (a reconnect is tried several times a second), with how often.
type refusalLog struct {
	mu     sync.Mutex
	last   time.Time
	missed int
}

func (r *refusalLog) log(log *slog.Logger, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.IsZero() && time.Since(r.last) < time.Minute {
		r.missed++
		return
	}
	log.Error("the NATS server refuses this process's credentials (revoked, or made with another installation's keys); it keeps trying: give it credentials of this installation (ingo creds --role ROLE --name NAME where the keys are) and restart it",
		"err", err, "refusals_since_last_said", r.missed)
	r.last, r.missed = time.Now(), 0
}
