package api

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// budgetStep is one reservation of TestUploadBudget.
type budgetStep struct {
	owner string
	n     int64
}

// waitWaiters returns once b has n waiters.
func waitWaiters(b *uploadBudget, n int) {
	for {
		b.mu.Lock()
		got := len(b.waiters)
		b.mu.Unlock()
		if got == n {
			return
		}
		runtime.Gosched()
	}
}

// TestUploadBudget: a request that fits is taken at once, even with a
// larger one waiting before it (first fit); an owner never holds more
// than its share (a larger request is clamped to it); a waiter gives up
// with errOwnShare or errBudgetWait; a release serves the waiters that
// then fit. Waits that must end in a grant are given the package's
// wait, so that only a budget that withholds them fails.
func TestUploadBudget(t *testing.T) {
	const size, share = 100, 50
	for _, tc := range []struct {
		name    string
		held    []budgetStep // granted first
		waiting *budgetStep  // then waits, before the request
		req     budgetStep
		want    error // nil: granted
		holds   int64 // what req.owner holds once granted
	}{
		{"fits", nil, nil, budgetStep{"b", 10}, nil, 10},
		{"larger than a share: clamped, not refused", nil, nil, budgetStep{"a", 400}, nil, share},
		{"another owner's half does not block", []budgetStep{{"a", 50}}, nil, budgetStep{"b", 50}, nil, 50},
		{"a small request passes a waiting large one", []budgetStep{{"a", 50}, {"b", 40}}, &budgetStep{"c", 50}, budgetStep{"d", 10}, nil, 10},
		{"the owner's own share is full", []budgetStep{{"a", 50}}, nil, budgetStep{"a", 1}, errOwnShare, 0},
		{"the budget is full", []budgetStep{{"a", 50}, {"b", 50}}, nil, budgetStep{"c", 1}, errBudgetWait, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newUploadBudget(size, share)
			for _, h := range tc.held {
				if _, err := b.reserve(context.Background(), h.owner, h.n, time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if w := tc.waiting; w != nil {
				go b.reserve(ctx, w.owner, w.n, time.Hour)
				waitWaiters(b, 1)
			}
			d := wait
			if tc.want != nil {
				d = time.Millisecond // it can only time out
			}
			release, err := b.reserve(context.Background(), tc.req.owner, tc.req.n, d)
			if !errors.Is(err, tc.want) {
				t.Fatalf("reserve: %v, want %v", err, tc.want)
			}
			if err == nil {
				if got := b.holds(tc.req.owner); got != tc.holds {
					t.Errorf("%s holds %d, want %d", tc.req.owner, got, tc.holds)
				}
				release()
				if got := b.holds(tc.req.owner); got != 0 {
					t.Errorf("%s holds %d after its release", tc.req.owner, got)
				}
			}
		})
	}

	t.Run("a release serves the waiters that fit", func(t *testing.T) {
		b := newUploadBudget(size, share)
		releaseA, _ := b.reserve(context.Background(), "a", 50, time.Hour)
		b.reserve(context.Background(), "b", 50, time.Hour)
		got := make(chan error, 1)
		go func() {
			_, err := b.reserve(context.Background(), "c", 30, wait)
			got <- err
		}()
		waitWaiters(b, 1)
		releaseA()
		if err := <-got; err != nil {
			t.Fatalf("the waiter: %v", err)
		}
		if b.holds("c") != 30 {
			t.Errorf("c holds %d, want 30", b.holds("c"))
		}
	})
}
