package leader_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/backend/leader"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// ttl is short to keep the package fast; bounds below add generous slack.
const ttl = time.Second

// takeoverBound is an upper bound, not a measurement: the documented
// takeover is within TTL + 1 s, the rest is slack for a loaded machine.
const takeoverBound = ttl + 3*time.Second

func connect(t *testing.T, url, name string) *nats.Conn {
	t.Helper()
	nc, err := natsconn.Connect(natsconn.Options{URL: url, Name: name, Log: testutil.Logger(t), ReconnectWait: 50 * time.Millisecond, Creds: testutil.Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func elector(t *testing.T, nc *nats.Conn, id string) *leader.Elector {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := leader.New(ctx, nc, leader.Options{ID: id, TTL: ttl, Log: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type result struct {
	lease *leader.Lease
	err   error
	at    time.Time
}

// campaign runs Campaign in the background and reports when it returns.
func campaign(ctx context.Context, e *leader.Elector) <-chan result {
	ch := make(chan result, 1)
	go func() {
		l, err := e.Campaign(ctx)
		ch <- result{l, err, time.Now()}
	}()
	return ch
}

// acquire campaigns with the test's context, which bounds the lease too.
func acquire(t *testing.T, e *leader.Elector) *leader.Lease {
	t.Helper()
	return await(t, campaign(t.Context(), e), 10*time.Second, e.ID()).lease
}

func await(t *testing.T, ch <-chan result, within time.Duration, what string) result {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("%s: %v", what, r.err)
		}
		t.Cleanup(func() { r.lease.Release(context.Background()) })
		return r
	case <-time.After(within):
		t.Fatalf("%s: not within %v", what, within)
		return result{}
	}
}

func TestStandbyWaitsAndTakesOverOnRelease(t *testing.T) {
	n := testutil.StartNATS(t)
	a := elector(t, connect(t, n.URL, "a"), "a")
	b := elector(t, connect(t, n.URL, "b"), "b")

	la := acquire(t, a)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := campaign(ctx, b)
	// Past several renewals, b must still be waiting.
	select {
	case r := <-got:
		t.Fatalf("b acquired while a holds the lease (err %v)", r.err)
	case <-time.After(2 * ttl):
	}
	if h, err := b.Holder(ctx); err != nil || h != "a" {
		t.Fatalf("Holder = %q, %v; want a", h, err)
	}
	if la.Err() != nil {
		t.Fatalf("a's lease ended: %v", la.Err())
	}

	released := time.Now()
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	r := await(t, got, takeoverBound, "b after a's release")
	t.Logf("takeover after Release: %v", r.at.Sub(released))
	if !errors.Is(la.Err(), leader.ErrReleased) {
		t.Fatalf("a's Err = %v, want ErrReleased", la.Err())
	}
	if h, _ := b.Holder(ctx); h != "b" {
		t.Fatalf("Holder = %q, want b", h)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatalf("second Release: %v", err)
	}
}

func TestTakeoverAfterHolderDies(t *testing.T) {
	n := testutil.StartNATS(t)
	nca := connect(t, n.URL, "a")
	a := elector(t, nca, "a")
	b := elector(t, connect(t, n.URL, "b"), "b")

	la := acquire(t, a)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := campaign(ctx, b)
	time.Sleep(ttl / 2) // b is a standby by now; any point in a's renewal cycle will do

	killed := time.Now()
	nca.Close() // like SIGKILL: no Release, the key has to expire
	r := await(t, got, takeoverBound, "b after a died")
	t.Logf("takeover after the holder died: %v (TTL %v)", r.at.Sub(killed), ttl)
	select {
	case <-la.Done():
		if !errors.Is(la.Err(), leader.ErrLost) {
			t.Fatalf("a's Err = %v, want ErrLost", la.Err())
		}
	default:
		t.Fatal("b acquired but a's lease is not done")
	}
}

func TestSelfFencingBeforeTakeover(t *testing.T) {
	n := testutil.StartNATS(t)
	p := testutil.StartProxy(t, n.Server.Addr().String())
	a := elector(t, connect(t, p.URL(), "a"), "a")
	b := elector(t, connect(t, n.URL, "b"), "b")

	la := acquire(t, a)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := campaign(ctx, b)
	time.Sleep(ttl / 2)

	paused := time.Now()
	p.Pause() // a partition: a's renewals go nowhere, but nothing tells it
	var lostAt time.Time
	select {
	case <-la.Done():
		lostAt = time.Now()
	case <-time.After(takeoverBound):
		t.Fatal("a never fenced itself")
	}
	if !errors.Is(la.Err(), leader.ErrLost) {
		t.Fatalf("a's Err = %v, want ErrLost", la.Err())
	}
	r := await(t, got, takeoverBound, "b after a was partitioned")
	t.Logf("partition: a fenced after %v, b acquired after %v; margin %v (%v)",
		lostAt.Sub(paused), r.at.Sub(paused), r.at.Sub(lostAt), la.Err())
	if !lostAt.Before(r.at) {
		t.Fatalf("b acquired at +%v, before a fenced itself at +%v", r.at.Sub(paused), lostAt.Sub(paused))
	}
	p.Resume()
}

func TestStandbySurvivesNATSRestart(t *testing.T) {
	n := testutil.StartNATS(t)
	nca := connect(t, n.URL, "a")
	a := elector(t, nca, "a")
	b := elector(t, connect(t, n.URL, "b"), "b")

	acquire(t, a)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := campaign(ctx, b)
	time.Sleep(ttl / 2)

	n.Stop()
	n.Start()
	restarted := time.Now()
	nca.Close() // whatever a made of the outage, the key has to expire
	r := await(t, got, takeoverBound+5*time.Second, "b after a NATS restart")
	t.Logf("b acquired %v after the restart", r.at.Sub(restarted))
}

func TestCampaignEndsWithContext(t *testing.T) {
	n := testutil.StartNATS(t)
	a := elector(t, connect(t, n.URL, "a"), "a")
	b := elector(t, connect(t, n.URL, "b"), "b")
	acquire(t, a)

	shutdown := errors.New("shutting down")
	for _, c := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"cancel with cause", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancelCause(context.Background())
			time.AfterFunc(100*time.Millisecond, func() { cancel(shutdown) })
			return ctx, func() { cancel(nil) }
		}, shutdown},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}, context.DeadlineExceeded},
		{"already cancelled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancelCause(context.Background())
			cancel(shutdown)
			return ctx, func() {}
		}, shutdown},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := c.ctx()
			defer cancel()
			start := time.Now()
			select {
			case r := <-campaign(ctx, b):
				if !errors.Is(r.err, c.want) || r.lease != nil {
					t.Fatalf("Campaign = %v, %v; want %v", r.lease, r.err, c.want)
				}
				t.Logf("returned after %v: %v", time.Since(start), r.err)
			case <-time.After(3 * time.Second):
				t.Fatal("Campaign did not return after its context ended")
			}
		})
	}
}

// TestNeverTwoHolders lets three candidates hand the lease around, by
// Release or by dying, and checks at every acquisition that no other
// lease is still live. A lease's Done closes before its key can be taken,
// so the check has no scheduling race.
func TestNeverTwoHolders(t *testing.T) {
	n := testutil.StartNATS(t)
	const candidates, rounds = 3, 8

	var (
		mu       sync.Mutex
		live     = map[string]*leader.Lease{}
		acquired int
	)
	register := func(id string, l *leader.Lease) int {
		mu.Lock()
		defer mu.Unlock()
		for other, ol := range live {
			select {
			case <-ol.Done():
				delete(live, other)
			default:
				t.Errorf("%s acquired while %s still holds the lease", id, other)
			}
		}
		live[id] = l
		acquired++
		return acquired
	}

	// The bucket exists before the candidates race: three creating it at
	// once on a loaded machine made JetStream fail one ("error creating
	// store for stream"), which is not what this test is about.
	elector(t, connect(t, n.URL, "setup"), "setup")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := range candidates {
		wg.Go(func() {
			for life := 0; ctx.Err() == nil; life++ {
				id := fmt.Sprintf("c%d-%d", i, life)
				nc := connect(t, n.URL, id)
				e := elector(t, nc, id)
				l, err := e.Campaign(ctx)
				if err != nil {
					return
				}
				round := register(id, l)
				if round >= rounds {
					cancel()
				}
				time.Sleep(ttl / 3) // hold across a renewal
				if round%2 == 0 {
					nc.Close()
					<-l.Done()
				} else if err := l.Release(context.Background()); err != nil {
					t.Errorf("%s: release: %v", id, err)
				}
				nc.Close()
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(rounds * takeoverBound):
		t.Fatal("the candidates stopped handing the lease around")
	}
	t.Logf("%d acquisitions", acquired)
}

// Any identity that may ask JetStream something can have the answer
// stored in the lease's key (NATS sends it to whatever reply subject the
// asker chose): the holder writes over what no candidate could have
// written, and keeps the lease. A printable id that is not its own still
// ends it.
func TestHolderWritesOverAForeignValue(t *testing.T) {
	n := testutil.StartNATS(t)
	nc := connect(t, n.URL, "holder")
	e := elector(t, nc, "holder")
	l := acquire(t, e)
	js, err := jetstream.New(connect(t, n.URL, "attacker"))
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(t.Context(), messages.NewSubjects("").LeaderBucket())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{`{"type":"io.nats.jetstream.api.v1.stream_info_response"}`, "\x00\xd9\x01binary"} {
		if _, err := kv.Put(t.Context(), leader.Key, []byte(v)); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, takeoverBound, func() bool {
			h, err := e.Holder(t.Context())
			return err == nil && h == "holder"
		}, "the holder did not write over "+v)
		select {
		case <-l.Done():
			t.Fatalf("lease lost over %q: %v", v, l.Err())
		default:
		}
	}
	// A printable id alone is not a candidate's write either; one with a
	// candidate's mark is, and ends the lease.
	if _, err := kv.Put(t.Context(), leader.Key, []byte("another-backend")); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, takeoverBound, func() bool {
		h, err := e.Holder(t.Context())
		return err == nil && h == "holder"
	}, "the holder did not write over a bare id")
	m := nats.NewMsg("$KV." + messages.NewSubjects("").LeaderBucket() + "." + leader.Key)
	m.Header.Set("Ingo-Lease", "another-backend 0123abcd")
	m.Data = []byte("another-backend")
	if _, err := js.PublishMsg(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Done():
	case <-time.After(takeoverBound):
		t.Fatal("the lease held over another candidate's id")
	}
}

// Any frontend can have the server store what it likes on the key: the
// answer of a direct get of its own bundle metadata, sent with the key's
// subject as its reply, carries the bytes and the headers the frontend
// stored. Neither a printable id nor a delete marker arriving that way
// may end the lease, or let a standby in beside the holder.
func TestReflectionNeitherEndsALeaseNorLetsAStandbyIn(t *testing.T) {
	n := testutil.StartNATS(t)
	e := elector(t, connect(t, n.URL, "holder"), "holder")
	l := acquire(t, e)
	standby := elector(t, connect(t, n.URL, "standby"), "standby")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got := campaign(ctx, standby)

	evil := testutil.NewReflector(t, n.URL, "evil")
	key := "$KV." + messages.NewSubjects("").LeaderBucket() + "." + leader.Key
	for _, attack := range []struct {
		name string
		send func()
	}{
		{"a printable id", func() { evil.Stored(key, []byte("standby")) }},
		{"a delete marker", func() { evil.StoredWith(key, nats.Header{"KV-Operation": {"DEL"}}, nil) }},
		{"a purge marker", func() { evil.StoredWith(key, nats.Header{"KV-Operation": {"PURGE"}}, nil) }},
		{"a JetStream answer", func() { evil.APIAnswer(key) }},
		{"a 404 status", func() { evil.Missing(key) }},
		// What the key-value API writes, without the headers a direct
		// get adds: {"no_hdr":true}.
		{"bare bytes", func() { evil.StoredBare(key, []byte("standby")) }},
		// A header block with a blank line inside hides those headers
		// from nats.go, a raw-protocol client's doing.
		{"a delete marker before a hidden blank line", func() {
			evil.StoredRaw(key, []byte("NATS/1.0\r\nKV-Operation: DEL\r\n\r\nx\r\n\r\n"), nil)
		}},
		{"a candidate's mark before a hidden blank line", func() {
			evil.StoredRaw(key, []byte("NATS/1.0\r\nIngo-Lease: standby 00\r\n\r\nx\r\n\r\n"), []byte("standby"))
		}},
		{"a header block nats.go cannot parse", func() { evil.StoredRaw(key, []byte("NATS/1.0\r\nbogus!\r\n\r\n"), nil) }},
	} {
		for range 3 {
			attack.send()
			time.Sleep(ttl / 4)
		}
		testutil.Eventually(t, takeoverBound, func() bool {
			h, err := e.Holder(t.Context())
			return err == nil && h == "holder"
		}, "the holder did not write over "+attack.name)
		select {
		case <-l.Done():
			t.Fatalf("%s ended the lease: %v", attack.name, l.Err())
		case r := <-got:
			t.Fatalf("%s let the standby in beside the holder: %v", attack.name, r.err)
		default:
		}
	}
	// The standby still takes over once the holder lets go.
	if err := l.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	await(t, got, takeoverBound, "the standby after the release")
}

// Two processes with one id (Options.ID need not be unique): after
// somebody deletes the key under the holder, the other must not hold it
// beside it.
func TestOneIDTwoProcessesNeverBothHold(t *testing.T) {
	n := testutil.StartNATS(t)
	a := elector(t, connect(t, n.URL, "a"), "same")
	la := acquire(t, a)
	js, err := jetstream.New(connect(t, n.URL, "operator"))
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(t.Context(), messages.NewSubjects("").LeaderBucket())
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(t.Context(), leader.Key); err != nil {
		t.Fatal(err)
	}
	b := elector(t, connect(t, n.URL, "b"), "same")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got := campaign(ctx, b)
	deadline := time.After(3 * ttl)
	for {
		select {
		case r := <-got:
			if r.err == nil {
				defer r.lease.Release(context.Background())
				select {
				case <-la.Done():
				case <-r.lease.Done():
				case <-time.After(ttl):
					t.Fatal("two processes of one id both hold the lease")
				}
			}
			return
		case <-deadline:
			return // the second waits: the holder wrote over the delete
		}
	}
}
