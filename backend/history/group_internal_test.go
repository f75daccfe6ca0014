package history

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ack is a PubAckFuture already answered.
type ack struct {
	ok  chan *jetstream.PubAck
	err chan error
}

func (a ack) Ok() <-chan *jetstream.PubAck { return a.ok }
func (a ack) Err() <-chan error            { return a.err }
func (a ack) Msg() *nats.Msg               { return nil }

func stored(seq uint64) jetstream.PubAckFuture {
	a := ack{ok: make(chan *jetstream.PubAck, 1), err: make(chan error, 1)}
	a.ok <- &jetstream.PubAck{Sequence: seq}
	return a
}

func refused() jetstream.PubAckFuture {
	a := ack{ok: make(chan *jetstream.PubAck, 1), err: make(chan error, 1)}
	a.err <- errors.New("timeout")
	return a
}

// A group is proven stored only by both acks, as far apart as its records.
func TestGroupStored(t *testing.T) {
	for _, c := range []struct {
		name        string
		n           int
		first, last jetstream.PubAckFuture
		want        bool
	}{
		{"one record", 1, stored(7), nil, true},
		{"one record, no ack", 1, refused(), nil, false},
		{"one record, publish failed", 1, nil, nil, false},
		{"three in a row", 3, stored(10), stored(12), true},
		{"a record missing", 3, stored(10), stored(11), false},
		{"another writer's record between", 3, stored(10), stored(13), false},
		{"last not acked", 3, stored(10), refused(), false},
		{"first not acked", 3, refused(), stored(12), false},
	} {
		g := &group{msgs: make([]*nats.Msg, c.n), first: c.first, last: c.last}
		if got := (&Store{}).stored(g); got != c.want {
			t.Errorf("%s: stored %v, want %v", c.name, got, c.want)
		}
	}
}
