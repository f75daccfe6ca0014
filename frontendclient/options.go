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
	Name string
	// ClientID is this client's subject token (letters, digits, '-', '_').
	// Default: a random UUID. A stable id lets a restarted frontend be the
	// same client to the backend (and collect its results: issue 4). Two
	// live Clients must never share one.
	ClientID string
	// Prefix of every subject (default messages.DefaultPrefix).
	Prefix string
	// PingInterval is the heartbeat period (default 1s).
	PingInterval time.Duration
	// RequestTimeout bounds the wait for the backend's answer to NewJob,
	// KillJob and Queue (default 10s), and is how long an unanswered ping
	// is kept before it is taken as lost.
	RequestTimeout time.Duration
	// Log receives the client's warnings; nil discards them.
	Log *slog.Logger
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
