package messages

import (
	"encoding/base64"
	"errors"
	"fmt"
)

// Bounds of ClientGetQueue, so that an answer always fits one NATS message
// (max_payload, 8 MiB embedded): a listed job takes a few hundred bytes.
const (
	// MaxQueuePage bounds ClientGetQueue.Limit.
	MaxQueuePage = 1000
	// MaxQueueHeads bounds ClientGetQueue.PerQueue.
	MaxQueueHeads = 100
)

// QueueCursor is a place in the listing of every job that pages walk: the
// running jobs by dispatch order, then the waiting jobs by environment
// (type, then name), priority (lower first) and arrival. A page holds the
// jobs after its cursor in that order, so a job that stays in its place
// (waiting, or running) while a client pages is listed exactly once: its
// place never changes, and each page starts after the last one listed. A
// job that starts, is re-queued or arrives meanwhile is listed once, twice
// or not at all, depending on whether its new place is still ahead.
type QueueCursor struct {
	// Running: the last job listed was running; Seq is its dispatch order.
	Running bool `cbor:"running,omitempty"`
	// Otherwise it was waiting in this environment and priority, and Seq
	// is its arrival.
	EnvironmentType string `cbor:"environment_type,omitempty"`
	Environment     string `cbor:"environment,omitempty"`
	Priority        int    `cbor:"priority,omitempty"`
	Seq             uint64 `cbor:"seq"`
}

// String is the cursor as an opaque token for URLs and command lines.
func (c *QueueCursor) String() string {
	b, err := encMode.Marshal(c)
	if err != nil {
		return "" // a struct of strings and integers always encodes
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseQueueCursor reads QueueCursor.String.
func ParseQueueCursor(s string) (*QueueCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("cursor: %w", err)
	}
	var c QueueCursor
	if err := decMode.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("cursor: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("cursor: %w", err)
	}
	return &c, nil
}

func (c *QueueCursor) validate() error {
	if c.Running && (c.EnvironmentType != "" || c.Environment != "" || c.Priority != 0) {
		return errors.New("a running cursor names no environment or priority")
	}
	if !c.Running && c.EnvironmentType == "" {
		return errors.New("a waiting cursor names its environment type")
	}
	if len(c.EnvironmentType) > MaxNameLength || len(c.Environment) > MaxNameLength {
		return fmt.Errorf("an environment name over %d bytes", MaxNameLength)
	}
	return nil
}
