package messages_test

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// TestQueueLegacyWire keeps the queue messages readable by and from peers
// that predate paging: an empty ClientGetQueue (what INGInious-style
// clients send) encodes to the bytes it always had, and a snapshot of
// before decodes to today's value without Ref or Next.
func TestQueueLegacyWire(t *testing.T) {
	for _, tc := range []struct {
		file string
		want messages.Message
	}{
		{"testdata/legacy/ClientGetQueue-empty.cbor", &messages.ClientGetQueue{}},
		{"testdata/legacy/BackendGetQueue-v2.cbor", func() messages.Message {
			for _, m := range samples() {
				if q, ok := m.(*messages.BackendGetQueue); ok {
					c := *q
					c.Ref, c.Next, c.Summary = "", nil, nil
					return &c
				}
			}
			panic("no BackendGetQueue sample")
		}()},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := messages.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decoded %#v\nwant %#v", got, tc.want)
			}
			enc, err := messages.Encode(tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, data) {
				t.Errorf("encodes to %x, was %x", enc, data)
			}
		})
	}
}

func TestClientGetQueueValidate(t *testing.T) {
	long := strings.Repeat("x", 300)
	cur := &messages.QueueCursor{EnvironmentType: "docker", Environment: "cpp", Seq: 9}
	for _, tc := range []struct {
		name string
		q    messages.ClientGetQueue
		ok   bool
	}{
		{"empty", messages.ClientGetQueue{}, true},
		{"heads", messages.ClientGetQueue{PerQueue: messages.MaxQueueHeads}, true},
		{"page", messages.ClientGetQueue{Limit: messages.MaxQueuePage, After: cur, EnvironmentType: "docker", Environment: "cpp", CourseID: "c"}, true},
		{"running cursor", messages.ClientGetQueue{Limit: 1, After: &messages.QueueCursor{Running: true, Seq: 3}}, true},
		{"negative heads", messages.ClientGetQueue{PerQueue: -1}, false},
		{"too many heads", messages.ClientGetQueue{PerQueue: messages.MaxQueueHeads + 1}, false},
		{"page too big", messages.ClientGetQueue{Limit: messages.MaxQueuePage + 1}, false},
		{"negative limit", messages.ClientGetQueue{Limit: -5}, false},
		{"both", messages.ClientGetQueue{PerQueue: 1, Limit: 1}, false},
		{"cursor without page", messages.ClientGetQueue{After: cur}, false},
		{"filter without page", messages.ClientGetQueue{CourseID: "c"}, false},
		{"environment without type", messages.ClientGetQueue{Limit: 1, Environment: "cpp"}, false},
		{"long filter", messages.ClientGetQueue{Limit: 1, CourseID: long}, false},
		{"long ref", messages.ClientGetQueue{Ref: long}, false},
		{"running cursor with environment", messages.ClientGetQueue{Limit: 1, After: &messages.QueueCursor{Running: true, EnvironmentType: "docker"}}, false},
		{"waiting cursor without environment", messages.ClientGetQueue{Limit: 1, After: &messages.QueueCursor{Seq: 3}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.q.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestQueueCursorString(t *testing.T) {
	for _, c := range []*messages.QueueCursor{
		{Running: true, Seq: 1},
		{EnvironmentType: "docker", Environment: "python 3/é", Priority: -7, Seq: 1 << 60},
	} {
		s := c.String()
		got, err := messages.ParseQueueCursor(s)
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Errorf("%q parses to %+v, %v; want %+v", s, got, err, c)
		}
		if strings.ContainsAny(s, "/+=&? ") {
			t.Errorf("%q needs escaping in a URL", s)
		}
	}
	for _, bad := range []string{"", "!!", "oA", (&messages.QueueCursor{Seq: 2}).String()} {
		if _, err := messages.ParseQueueCursor(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
