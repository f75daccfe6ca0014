package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/backend/journal"
	"github.com/ingo-grader/ingo/backend/leader"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// The warm standby preloads only when the lease's holder goes silent:
// not while it renews, at once when it stops (before its key expires),
// and the preload goes again when the holder turns out alive.
func TestWarmStandby_PreloadsWhenTheHolderGoesSilent(t *testing.T) {
	const ttl = 4 * time.Second // renewals every second
	cases := []struct {
		name string
		// holder plays the active backend from its key's creation on, until
		// ctx ends.
		holder      func(ctx context.Context, put putKey, rev uint64)
		wantPreload bool
		wantBuilt   int32 // preloads made, kept or not
	}{
		{"renewing", renewEvery(ttl / 4), false, 0},
		{"dead", func(context.Context, putKey, uint64) {}, true, 1},
		{"slow, then renewing again", func(ctx context.Context, put putKey, rev uint64) {
			select { // silent long enough to be taken for dead
			case <-time.After(ttl / 2):
			case <-ctx.Done():
				return
			}
			renewEvery(ttl/4)(ctx, put, rev)
		}, false, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := testutil.StartNATS(t)
			nc, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "standby", Creds: testutil.Superuser(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			el, err := leader.New(ctx, nc, leader.Options{TTL: ttl, ID: "standby"})
			if err != nil {
				t.Fatal(err)
			}
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			put := markedPut(js)
			rev, err := put(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			hctx, stopHolder := context.WithCancel(ctx)
			defer stopHolder()
			go tc.holder(hctx, put, rev)

			var builds atomic.Int32
			build := func() (*preloaded, error) {
				builds.Add(1)
				j, err := journal.Open(ctx, nc, journal.Options{})
				if err != nil {
					return nil, err
				}
				cfg := backend.DefaultConfig()
				cfg.Journal = j
				b, err := backend.New(nc, cfg, testutil.Logger(t))
				if err != nil {
					j.Close()
					return nil, err
				}
				return &preloaded{b: b, j: j}, nil
			}
			w := startWarmStandby(ctx, testutil.Logger(t), el, build)
			// Long enough for a silent holder to be noticed, and for a slow
			// one's renewals to resume; short of the key's expiry.
			time.Sleep(ttl * 3 / 4)
			s, err := el.Silence(ctx)
			if err != nil || s.Holder != "active" {
				t.Fatalf("the holder's key is gone before the check (%+v, %v): the test is too slow", s, err)
			}
			pre := w.take()
			defer pre.close()
			if got := pre != nil; got != tc.wantPreload || builds.Load() != tc.wantBuilt {
				t.Errorf("preloaded: %v after %d preloads, want %v after %d", got, builds.Load(), tc.wantPreload, tc.wantBuilt)
			}
		})
	}
}

// renewEvery renews the key as a live holder does, from now on.
func renewEvery(d time.Duration) func(context.Context, putKey, uint64) {
	return func(ctx context.Context, put putKey, rev uint64) {
		tick := time.NewTicker(d)
		defer tick.Stop()
		for {
			r, err := put(ctx, rev)
			if err != nil {
				return
			}
			rev = r
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}
}

// putKey writes the lease's key as a candidate "active" does, if its
// revision is rev (0: absent), and returns the new revision.
type putKey func(ctx context.Context, rev uint64) (uint64, error)

// markedPut writes with a candidate's mark (package leader), without
// which a standby takes the key for what no candidate wrote.
func markedPut(js jetstream.JetStream) putKey {
	return func(ctx context.Context, rev uint64) (uint64, error) {
		m := nats.NewMsg("$KV." + messages.NewSubjects("").LeaderBucket() + "." + leader.Key)
		m.Header.Set("Ingo-Lease", "active 0123")
		m.Data = []byte("active")
		ack, err := js.PublishMsg(ctx, m, jetstream.WithExpectLastSequencePerSubject(rev))
		if err != nil {
			return 0, err
		}
		return ack.Sequence, nil
	}
}
