package natsconn_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// received collects what arrives on subject: the NATS messages and, in
// order, the job ids of the Acks they carry.
type received struct {
	mu       sync.Mutex
	payloads int
	batches  int
	ids      []string
	replies  map[string]bool
}

func listen(t *testing.T, nc *nats.Conn, subject string) *received {
	t.Helper()
	r := &received{replies: map[string]bool{}}
	_, err := nc.Subscribe(subject, func(m *nats.Msg) {
		items, err := messages.Split(m.Data)
		if err != nil {
			t.Errorf("split: %v", err)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.payloads++
		if messages.IsBatch(m.Data) {
			r.batches++
		}
		r.replies[m.Reply] = true
		for _, it := range items {
			msg, err := messages.Decode(it)
			if err != nil {
				t.Errorf("decode: %v", err)
				return
			}
			r.ids = append(r.ids, msg.(*messages.Ack).JobID)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *received) wait(t *testing.T, n int) (payloads, batches int, ids []string) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.ids) >= n
	}, "%d messages received", n)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.payloads, r.batches, append([]string(nil), r.ids...)
}

func ack(t *testing.T, i int) []byte {
	t.Helper()
	b, err := messages.Encode(&messages.Ack{JobID: fmt.Sprintf("job-%d", i)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCoalescer(t *testing.T) {
	n := testutil.StartNATS(t)
	nc := connect(t, n.URL)
	const subject, reply = "ingo.coalesce", "ingo.coalesce.reply"

	t.Run("a lone message leaves alone", func(t *testing.T) {
		r := listen(t, nc, subject+".lone")
		c := natsconn.NewCoalescer(nc, subject+".lone", reply, nil)
		defer c.Close()
		if err := c.Send(ack(t, 1)); err != nil {
			t.Fatal(err)
		}
		payloads, batches, ids := r.wait(t, 1)
		if payloads != 1 || batches != 0 || ids[0] != "job-1" || !r.replies[reply] {
			t.Errorf("payloads %d, batches %d, ids %v, replies %v", payloads, batches, ids, r.replies)
		}
	})

	t.Run("what queues behind a publish leaves as one batch, in order", func(t *testing.T) {
		r := listen(t, nc, subject+".held")
		c, start := natsconn.NewHeldCoalescer(nc, subject+".held", reply, nil)
		const total = 2*messages.MaxBatchItems + 10
		for i := range total {
			if err := c.Send(ack(t, i)); err != nil {
				t.Fatal(err)
			}
		}
		start()
		c.Close()
		payloads, batches, ids := r.wait(t, total)
		if payloads != 3 || batches != 3 {
			t.Errorf("%d payloads (%d batches) for %d messages; want 3 batches of at most %d", payloads, batches, total, messages.MaxBatchItems)
		}
		for i, id := range ids {
			if id != fmt.Sprintf("job-%d", i) {
				t.Fatalf("message %d is %s: out of order", i, id)
			}
		}
	})

	t.Run("many senders: everything arrives once, each sender's in order", func(t *testing.T) {
		r := listen(t, nc, subject+".many")
		c := natsconn.NewCoalescer(nc, subject+".many", reply, nil)
		const senders, each = 8, 500
		var wg sync.WaitGroup
		for s := range senders {
			wg.Go(func() {
				for i := range each {
					if err := c.Send(ack(t, s*each+i)); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		c.Close()
		payloads, _, ids := r.wait(t, senders*each)
		last := map[int]int{}
		seen := map[string]bool{}
		for _, id := range ids {
			var k int
			fmt.Sscanf(id, "job-%d", &k)
			if seen[id] {
				t.Fatalf("%s twice", id)
			}
			seen[id] = true
			if prev, ok := last[k/each]; ok && prev > k {
				t.Fatalf("sender %d: %d after %d", k/each, k, prev)
			}
			last[k/each] = k
		}
		if len(seen) != senders*each {
			t.Errorf("%d distinct messages, want %d", len(seen), senders*each)
		}
		t.Logf("%d messages in %d NATS messages", senders*each, payloads)
	})

	t.Run("refused at once", func(t *testing.T) {
		c := natsconn.NewCoalescer(nc, subject+".refused", reply, nil)
		big := make([]byte, nc.MaxPayload()+1)
		if err := c.Send(big); !errors.Is(err, nats.ErrMaxPayload) {
			t.Errorf("over max_payload: %v", err)
		}
		c.Close()
		if err := c.Send(ack(t, 1)); !errors.Is(err, natsconn.ErrCoalescerClosed) {
			t.Errorf("after Close: %v", err)
		}
		c.Close() // twice is fine
		closed := connect(t, n.URL)
		closed.Close()
		c2 := natsconn.NewCoalescer(closed, subject+".refused", reply, nil)
		defer c2.Close()
		if err := c2.Send(ack(t, 1)); !errors.Is(err, nats.ErrConnectionClosed) {
			t.Errorf("closed connection: %v", err)
		}
	})
}

func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	return testutil.Connect(t, url, t.Name())
}
