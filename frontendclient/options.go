package frontendclient

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/ingo-grader/ingo/messages"
)

// Defaults of Options.
const (
	DefaultName           = "ingo-client"
	DefaultPingInterval   = time.Second
	DefaultRequestTimeout = 10 * time.Second
)

// Options configure a Client. The zero value is usable.
type Options struct {
	// Name is sent in ClientHello and shown in the backend's logs
	// (default DefaultName).
	Name string `key:"name" help:"client name shown in the backend's logs"`
	// ClientID is this client's subject token (letters, digits, '-', '_').
	// Default: a random UUID. A stable id lets a restarted frontend be the
	// same client to the backend and collect the results that finished
	// while it was away (see OnResult). Two live Clients must never share
	// one.
	ClientID string `key:"id" check:"id" help:"client id, a NATS subject token; empty: a random id per process"`
	// Prefix of every subject (default messages.DefaultPrefix).
	Prefix string `key:"-"`
	// Admin sends on the admins' subject, where the backend shows every
	// job and lets this client kill any; the connection's credentials
	// must be an admin's. Otherwise the client is the frontend whose
	// credentials' name is ClientID: NATS lets it send only on its own
	// subject.
	Admin bool `key:"-"`
	// PingInterval is the heartbeat period (default 1s).
	PingInterval time.Duration `key:"ping-interval" check:"positive" help:"how often the client pings the backend"`
	// RequestTimeout bounds the wait for the backend's answer to NewJob,
	// KillJob and Queue (default 10s), and is how long an unanswered ping
	// is kept before it is taken as lost.
	RequestTimeout time.Duration `key:"request-timeout" check:"positive" help:"how long the client waits for the backend to answer a request"`
	// OnResult, if set, receives every result before it is acknowledged
	// to the backend: those of this Client's jobs (whose Job gets them as
	// well) and those of jobs that an earlier process with the same
	// ClientID submitted. It runs on one goroutine of the Client, one
	// result at a time, and must not block forever. The result is
	// acknowledged when it returns nil; after an error the backend sends it
	// again later. Store results here to lose none when the frontend
	// crashes: without OnResult a result is acknowledged as soon as the
	// Client has it.
	OnResult func(*messages.BackendJobDone) error `key:"-"`
	// Delivered, if set, says whether the application already has the
	// result of a job (from its own store, after a restart): such a
	// result is acknowledged without reaching OnResult again. It runs on
	// OnResult's goroutine.
	Delivered func(jobID string) bool `key:"-"`
	// OnStarted, if set, receives the start of every job this Client has
	// no Job of its id for: one an earlier process with the same ClientID
	// submitted, still waiting when this one began (the Job's events
	// carry the starts of this Client's own jobs). It runs on the
	// Client's receiving goroutine and must return quickly.
	OnStarted func(*messages.BackendJobStarted) `key:"-"`
	// Log receives the client's warnings; nil discards them.
	Log *slog.Logger `key:"-"`
}

// withDefaults fills the zero fields and checks the others.
func (o Options) withDefaults() (Options, error) {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.ClientID == "" {
		o.ClientID = uuid.NewString()
	}
	if err := messages.ValidateID(o.ClientID); err != nil {
		return o, fmt.Errorf("%w: client id: %w", ErrInvalid, err)
	}
	if o.Prefix == "" {
		o.Prefix = messages.DefaultPrefix
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.PingInterval < 0 || o.RequestTimeout < 0 {
		return o, fmt.Errorf("%w: PingInterval and RequestTimeout must be positive", ErrInvalid)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}
