package natsconn_test

import (
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/natsconn"
)

func TestForeign(t *testing.T) {
	direct := nats.Header{"Nats-Stream": {"OBJ_x"}, "Nats-Subject": {"$O.x.M.y"}, "Nats-Sequence": {"3"}, "Nats-Time-Stamp": {"t"}}
	for _, c := range []struct {
		name            string
		m               *nats.Msg
		foreign, stored bool
	}{
		{"an ingo message", &nats.Msg{Data: []byte{0xd9, 0x01}}, false, false},
		{"no responders", &nats.Msg{Header: nats.Header{"Status": {"503"}}}, false, true},
		{"a status stored without its header", &nats.Msg{}, false, true},
		{"a direct get's answer", &nats.Msg{Header: direct, Data: []byte{0xd9, 0x01}}, true, true},
		{"one server header is enough", &nats.Msg{Header: nats.Header{"Nats-Sequence": {"3"}}, Data: []byte{1}}, true, true},
		{"any header with data", &nats.Msg{Header: nats.Header{"X": {"y"}}, Data: []byte{1}}, true, false},
		{"a JetStream API answer", &nats.Msg{Data: []byte(`{"type":"io.nats.jetstream.api.v1.stream_info_response"}`)}, false, true},
	} {
		if got := natsconn.Foreign(c.m); got != c.foreign {
			t.Errorf("%s: Foreign = %v, want %v", c.name, got, c.foreign)
		}
		if got := natsconn.ForeignStored(c.m.Header, c.m.Data); got != c.stored {
			t.Errorf("%s: ForeignStored = %v, want %v", c.name, got, c.stored)
		}
	}
}
