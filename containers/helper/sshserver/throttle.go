package sshserver

import (
	"context"
	"net"
	"sync"
	"time"
)

// Password attempts after failures wait failDelayBase, doubled per
// failure, at most failDelayMax: a few typos cost a person a few seconds,
// a guessing client gets well under one try a second per source. The wait
// is before the password is checked, not after the answer, so a client
// that hangs up early and reconnects waits all the same.
const (
	failDelayBase = 500 * time.Millisecond
	failDelayMax  = 5 * time.Second
	// A source's failures are forgotten after this long without one.
	failForget = 10 * time.Minute
	// Sources remembered at once; beyond, a new source has only its
	// connection's own count (the relay still bounds its connections).
	maxSources = 4096
)

// throttle counts failed password attempts per source and delays the next
// attempts of that source. Its zero value is not usable: see newThrottle.
type throttle struct {
	mu      sync.Mutex
	sources map[string]*failures
	// wait sleeps d unless ctx ends first; tests replace it to see the
	// delays without sleeping.
	wait func(ctx context.Context, d time.Duration) error
	now  func() time.Time
}

type failures struct {
	n    int
	last time.Time
}

func newThrottle() *throttle {
	return &throttle{sources: map[string]*failures{}, wait: sleepCtx, now: time.Now}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// failDelay is the wait before an attempt after n failures.
func failDelay(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := failDelayBase
	for i := 1; i < n && d < failDelayMax; i++ {
		d *= 2
	}
	return min(d, failDelayMax)
}

// before waits before an attempt of a connection from source that has
// failed connFails times already: the larger of the connection's and the
// source's counts sets the delay. It fails when ctx ends first.
func (t *throttle) before(ctx context.Context, source string, connFails int) error {
	n := connFails
	if source != "" {
		t.mu.Lock()
		if f := t.sources[source]; f != nil && t.now().Sub(f.last) < failForget {
			n = max(n, f.n)
		}
		t.mu.Unlock()
	}
	return t.wait(ctx, failDelay(n))
}

// failed counts a failed attempt of source.
func (t *throttle) failed(source string) {
	if source == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	f := t.sources[source]
	if f != nil && now.Sub(f.last) >= failForget {
		f.n = 0
	}
	if f == nil {
		if len(t.sources) >= maxSources {
			for k, g := range t.sources {
				if now.Sub(g.last) >= failForget {
					delete(t.sources, k)
				}
			}
			if len(t.sources) >= maxSources {
				return
			}
		}
		f = &failures{}
		t.sources[source] = f
	}
	f.n++
	f.last = now
}

// succeeded forgets source's failures: its user knows the password now.
func (t *throttle) succeeded(source string) {
	t.mu.Lock()
	delete(t.sources, source)
	t.mu.Unlock()
}

// sourceOf names the source of a connection for the throttle: the host of
// a TCP address, or the string of another address (the helper gives the
// source the agent saw this way); "" when there is none to go by.
func sourceOf(a net.Addr) string {
	switch a := a.(type) {
	case nil:
		return ""
	case *net.TCPAddr:
		return a.IP.String()
	default:
		return a.String()
	}
}
