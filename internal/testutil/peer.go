package testutil

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/messages"
)

// PeerWait bounds how long Next waits for a message.
const PeerWait = 5 * time.Second

// Peer is a raw NATS participant, a client or an agent played by hand, for
// tests that check the backend on the wire exactly as peers see it.
type Peer struct {
	T       testing.TB
	NC      *nats.Conn
	ID      string
	Subject string // its own subject, also the reply subject of what it sends
	Target  string // the backend subject it writes to
	Inbox   chan messages.Message
	// Noise says which messages Next skips and Quiet tolerates.
	Noise func(messages.Message) bool
}

// NewPeer connects to url and subscribes to subject; it is closed when the
// test ends. Its Noise is HeartbeatNoise.
func NewPeer(t testing.TB, url, id, subject, target string) *Peer {
	t.Helper()
	nc, err := nats.Connect(url, Superuser(t).NATSOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	p := &Peer{T: t, NC: nc, ID: id, Subject: subject, Target: target,
		Inbox: make(chan messages.Message, 10000), Noise: HeartbeatNoise}
	_, err = nc.Subscribe(subject, func(m *nats.Msg) {
		if natsconn.IsStatus(m) {
			return
		}
		msgs, err := DecodeAll(m.Data)
		if err != nil {
			t.Errorf("%s got an undecodable message: %v", id, err)
			return
		}
		for _, msg := range msgs {
			p.Inbox <- msg
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return p
}

// HeartbeatNoise is what arrives beside the messages a test waits for:
// pongs, environment updates, acks and started notices.
func HeartbeatNoise(m messages.Message) bool {
	switch m.(type) {
	case *messages.Pong, *messages.BackendUpdateEnvironments, *messages.Ack, *messages.BackendJobStarted:
		return true
	}
	return false
}

// Send publishes m to the backend with the peer's subject as reply subject.
func (p *Peer) Send(m messages.Message) {
	p.T.Helper()
	if err := natsconn.Send(p.NC, p.Target, p.Subject, m); err != nil {
		p.T.Fatal(err)
	}
}

// DecodeAll decodes what one NATS message carries: one message, or the
// items of a batch, in order. A peer played by a test takes nothing it
// cannot read, so any item that does not decode fails it all.
func DecodeAll(data []byte) ([]messages.Message, error) {
	items, err := messages.Split(data)
	if err != nil {
		return nil, err
	}
	msgs := make([]messages.Message, len(items))
	for i, item := range items {
		if msgs[i], err = messages.Decode(item); err != nil {
			return nil, err
		}
	}
	return msgs, nil
}

// SendBatch publishes ms to the backend in one NATS message, a
// messages.Batch; an item given as []byte is sent as it is (to slip a
// malformed message in).
func (p *Peer) SendBatch(ms ...any) {
	p.T.Helper()
	items := make([][]byte, len(ms))
	for i, m := range ms {
		switch m := m.(type) {
		case []byte:
			items[i] = m
		case messages.Message:
			data, err := messages.Encode(m)
			if err != nil {
				p.T.Fatal(err)
			}
			items[i] = data
		default:
			p.T.Fatalf("SendBatch: %T is not a message", m)
		}
	}
	data, err := messages.Encode(&messages.Batch{Messages: items})
	if err != nil {
		p.T.Fatal(err)
	}
	p.SendRaw(data)
}

// SendRaw publishes data to the backend as it is.
func (p *Peer) SendRaw(data []byte) {
	p.T.Helper()
	if err := p.NC.PublishMsg(&nats.Msg{Subject: p.Target, Reply: p.Subject, Data: data}); err != nil {
		p.T.Fatal(err)
	}
}

// Next returns the next message of type T, skipping noise, and fails the
// test on anything else or after PeerWait.
func Next[T messages.Message](p *Peer) T {
	p.T.Helper()
	deadline := time.After(PeerWait)
	for {
		select {
		case m := <-p.Inbox:
			if v, ok := m.(T); ok {
				return v
			}
			if p.Noise(m) {
				continue
			}
			var zero T
			p.T.Fatalf("%s: want %T, got %T %+v", p.ID, zero, m, m)
		case <-deadline:
			var zero T
			p.T.Fatalf("%s: no %T within %v", p.ID, zero, PeerWait)
		}
	}
}

// Quiet fails the test if anything but noise arrives within d.
func (p *Peer) Quiet(d time.Duration) {
	p.T.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-p.Inbox:
			if p.Noise(m) {
				continue
			}
			p.T.Fatalf("%s: unexpected %T %+v", p.ID, m, m)
		case <-deadline:
			return
		}
	}
}

// Collect gathers the messages of type T that arrive within d.
func Collect[T messages.Message](p *Peer, d time.Duration) []T {
	var out []T
	deadline := time.After(d)
	for {
		select {
		case m := <-p.Inbox:
			if v, ok := m.(T); ok {
				out = append(out, v)
			}
		case <-deadline:
			return out
		}
	}
}
