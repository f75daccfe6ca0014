package backend

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/messages"
)

// A batch's items are handled as if each had come alone, in order: a
// malformed one is answered with an error in its place and the others go
// on; the results an agent sends together all reach their client.
func TestBatchFromPeers(t *testing.T) {
	r := newRig(t, nil)
	a := r.agent("a1", 4, "docker/default")
	c := r.client("c1")

	c.SendBatch(newJob("j1", "default", 0), newJob("j2", "default", 0), []byte("not a message"), newJob("j3", "default", 0))
	// The jobs are queued in order; the error for the malformed item
	// bypasses the outbox (it tells of no transition), so it may come
	// before the answers to the items ahead of it.
	var queued []string
	errors := 0
	for len(queued) < 3 || errors < 1 {
		select {
		case m := <-c.Inbox:
			switch m := m.(type) {
			case *messages.BackendJobQueued:
				queued = append(queued, m.JobID)
			case *messages.Error:
				if m.Code != messages.CodeMalformed {
					t.Fatalf("error %v, want %v", m.Code, messages.CodeMalformed)
				}
				errors++
			default:
				if !c.Noise(m) {
					t.Fatalf("unexpected %T %+v", m, m)
				}
			}
		case <-time.After(wait):
			t.Fatalf("after %v: queued %v, %d errors", wait, queued, errors)
		}
	}
	if !slices.Equal(queued, []string{"j1", "j2", "j3"}) || errors != 1 {
		t.Fatalf("queued %v and %d errors; want j1, j2, j3 in order and 1 error", queued, errors)
	}

	var jobs []*messages.BackendNewJob
	for range 3 {
		jobs = append(jobs, next[*messages.BackendNewJob](a.peer))
	}
	var batch []any
	for _, j := range jobs {
		batch = append(batch, &messages.AgentJobStarted{JobID: j.JobID, Attempt: j.Attempt})
	}
	for _, j := range jobs {
		batch = append(batch, &messages.AgentJobDone{JobID: j.JobID, Attempt: j.Attempt,
			JobResult: messages.JobResult{Result: messages.Result{Status: messages.StatusSuccess}, Grade: 100}})
	}
	a.SendBatch(batch...)
	done := map[string]bool{}
	for range 3 {
		d := next[*messages.BackendJobDone](c)
		done[d.JobID] = true
	}
	if len(done) != 3 {
		t.Errorf("results for %v, want j1, j2, j3", done)
	}
	if st := r.b.Stats(); st.BatchesReceived < 2 || st.Malformed != 1 {
		t.Errorf("stats %+v: want 2 batches received, 1 malformed", st)
	}
}

// A batch that is wrong as a whole (one inside another, none at all) is
// refused whole: nothing of it is handled.
func TestBatchRefusedWhole(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	inner, err := messages.Encode(&messages.Batch{Messages: [][]byte{mustEncode(t, newJob("nested", "default", 0))}})
	if err != nil {
		t.Fatal(err)
	}
	c.SendBatch(newJob("beside", "default", 0), inner)
	e := next[*messages.Error](c)
	if e.Code != messages.CodeMalformed {
		t.Errorf("error %v, want %v", e.Code, messages.CodeMalformed)
	}
	empty, _ := messages.Encode(&messages.Batch{})
	c.SendRaw(empty)
	if e := next[*messages.Error](c); e.Code != messages.CodeMalformed {
		t.Errorf("empty batch: error %v, want %v", e.Code, messages.CodeMalformed)
	}
	c.quiet(200 * time.Millisecond)
	if got := r.b.Stats().Submitted; got != 0 {
		t.Errorf("%d jobs submitted from refused batches", got)
	}
}

func mustEncode(t *testing.T, m messages.Message) []byte {
	t.Helper()
	data, err := messages.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// What one turn of the loop sends leaves as one NATS message per peer,
// in the order it was made.
func TestSendQueueBatchesPerPeer(t *testing.T) {
	r := newRig(t, nil)
	c1, c2 := r.client("q1"), r.client("q2")
	b, err := New(r.nc, DefaultConfig(), nil) // not running: this test is its loop
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"a", "b", "c"} {
		b.queueSend(r.subj.Client("q1"), mustEncode(t, &messages.BackendJobQueued{JobID: id}))
		if i == 1 {
			b.queueSend(r.subj.Client("q2"), mustEncode(t, &messages.BackendJobQueued{JobID: "alone"}))
		}
	}
	b.flushSends()
	for _, want := range []string{"a", "b", "c"} {
		if got := next[*messages.BackendJobQueued](c1); got.JobID != want {
			t.Fatalf("q1 got %s, want %s", got.JobID, want)
		}
	}
	if got := next[*messages.BackendJobQueued](c2); got.JobID != "alone" {
		t.Fatalf("q2 got %s", got.JobID)
	}
	if st := b.Stats(); st.BatchesSent != 1 || st.SendErrors != 0 {
		t.Errorf("%d batches sent, %d send errors; want 1 (to q1; q2's one message alone), 0", st.BatchesSent, st.SendErrors)
	}
}

// A batch full of refused messages gets one answer, not one per item:
// one NATS message cannot be turned into a thousand errors.
func TestBatchRefusalsAnsweredOnce(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	var items []any
	for range 300 {
		items = append(items, []byte("garbage"))
	}
	items = append(items, &messages.AgentJobStarted{JobID: "x", Attempt: 1}) // not a client's
	c.SendBatch(items...)
	e := next[*messages.Error](c)
	if e.Code != messages.CodeMalformed || !strings.Contains(e.Text, "300 more") {
		t.Errorf("answer %v %q: want the first item's refusal, saying 300 more", e.Code, e.Text)
	}
	c.quiet(300 * time.Millisecond)
	if st := r.b.Stats(); st.Malformed != 300 || st.Unexpected != 1 {
		t.Errorf("stats %+v: want 300 malformed, 1 unexpected", st)
	}

	// A batch of health checks from a raw inbox is answered once.
	inbox := natsauth.InboxPrefix(natsauth.RoleBackend, "test") + ".health" // the Superuser's inboxes
	sub, err := c.NC.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	var pings [][]byte
	for range 50 {
		pings = append(pings, mustEncode(t, &messages.Ping{}))
	}
	batch, _ := messages.Encode(&messages.Batch{Messages: pings})
	if err := c.NC.PublishMsg(&nats.Msg{Subject: c.Target, Reply: inbox, Data: batch}); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.NextMsg(wait); err != nil {
		t.Fatalf("no pong: %v", err)
	}
	if m, err := sub.NextMsg(300 * time.Millisecond); err == nil {
		t.Errorf("a second answer to one health check batch: %q", m.Data)
	}
}
