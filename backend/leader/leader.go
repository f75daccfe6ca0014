package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/messages"
)

// Key is the bucket key whose value is the id of the active backend.
const Key = "backend"

// DefaultTTL is the lease length when Options.TTL is zero.
const DefaultTTL = 4 * time.Second

// MinTTL is the shortest lease: nats-server refuses a stream MaxAge below
// 100 ms, and its expiry timer does not run more often than every 250 ms.
const MinTTL = 250 * time.Millisecond

var (
	// ErrLost ends a lease that this process could no longer prove it
	// holds: another candidate took the key, renewals failed for too long,
	// or the Campaign context ended. The wrapped error says which.
	ErrLost = errors.New("leader: lease lost")
	// ErrReleased ends a lease given up with Release.
	ErrReleased = errors.New("leader: lease released")
)

// Options tune an Elector; the zero value takes the defaults.
type Options struct {
	// Prefix of the installation ("" means messages.DefaultPrefix).
	Prefix string
	// ID names this candidate in the key's value and in logs; "" means
	// "<hostname>-<pid>". Exclusion does not depend on it being unique.
	ID string
	// TTL is the lease length (DefaultTTL; at least MinTTL): the key
	// expires TTL after its last renewal. Every candidate of an
	// installation must use the same TTL, since it is the bucket's.
	TTL time.Duration
	// Replicas of the bucket (1; 3 on a NATS cluster).
	Replicas int
	// Log receives acquisitions, losses and, at debug level, failed
	// attempts; nil discards it.
	Log *slog.Logger
}

// Elector campaigns for the lease of one installation. Its methods may be
// called from any goroutine.
type Elector struct {
	js jetstream.JetStream
	// subject is the key's in the bucket's stream, which readKey reads
	// as stored (what the key-value API hides), and mark what this
	// candidate writes beside its id (newMark).
	stream  string
	subject string
	mark    string
	opts    Options
	// poll is both the standby's polling period and the holder's pause
	// before retrying a failed renewal.
	poll time.Duration
}

// New creates the installation's leader bucket if it does not exist yet
// (or updates its TTL and replicas) and returns an Elector. The connection
// stays the caller's.
func New(ctx context.Context, nc *nats.Conn, o Options) (*Elector, error) {
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.TTL < MinTTL {
		return nil, fmt.Errorf("leader: TTL %v is shorter than %v", o.TTL, MinTTL)
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.ID == "" {
		host, err := os.Hostname()
		if err != nil {
			host = "unknown"
		}
		o.ID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if !candidateID(o.ID) {
		return nil, fmt.Errorf("leader: id %q: want printable ASCII without spaces, at most 1024 bytes, not starting with '{'", o.ID)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("leader: %w", err)
	}
	cfg := jetstream.KeyValueConfig{
		Bucket:      messages.NewSubjects(o.Prefix).LeaderBucket(),
		Description: "ingo: lease of the active backend",
		TTL:         o.TTL,
		History:     1,
		Replicas:    o.Replicas,
		Storage:     jetstream.FileStorage,
	}
	if _, err := js.CreateOrUpdateKeyValue(ctx, cfg); err != nil {
		return nil, fmt.Errorf("leader: bucket %s: %w", cfg.Bucket, natsconn.ExplainStore(err))
	}
	return &Elector{js: js, stream: "KV_" + cfg.Bucket, subject: "$KV." + cfg.Bucket + "." + Key,
		mark: newMark(o.ID), opts: o, poll: min(o.TTL/8, 250*time.Millisecond)}, nil
}

// ID is this candidate's id.
func (e *Elector) ID() string { return e.opts.ID }

// Campaign blocks until this candidate holds the lease, or ctx ends. The
// returned lease is renewed until it is lost or released, whatever ctx
// does afterwards: a backend stopping on a signal releases it, so that a
// standby takes over at once rather than after TTL.
func (e *Elector) Campaign(ctx context.Context) (*Lease, error) {
	tick := time.NewTicker(e.poll)
	defer tick.Stop()
	began := time.Now()
	standby := false
	for {
		sent := time.Now()
		// Half a TTL leaves a fresh lease at least a quarter of its fence.
		actx, cancel := context.WithTimeout(ctx, e.opts.TTL/2)
		rev, err := e.create(actx)
		cancel()
		if err == nil {
			e.opts.Log.Info("leader: acquired the lease", "id", e.opts.ID, "waited", time.Since(began).Round(time.Millisecond))
			return e.hold(context.WithoutCancel(ctx), rev, sent), nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("leader: campaign: %w", context.Cause(ctx))
		}
		if errors.Is(err, jetstream.ErrKeyExists) {
			if !standby {
				standby = true
				holder, _ := e.Holder(ctx)
				e.opts.Log.Info("leader: standing by", "id", e.opts.ID, "holder", holder)
			}
		} else {
			// NATS down or reconnecting: a standby just keeps trying.
			e.opts.Log.Debug("leader: acquire attempt failed; retrying", "id", e.opts.ID, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("leader: campaign: %w", context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// create writes this candidate's id on the key if nobody holds it: the
// key is absent, expired, or a candidate's release. What no candidate
// wrote (keyForeign) counts as held: it may hide a live holder's renewal,
// and it expires like one.
func (e *Elector) create(ctx context.Context) (uint64, error) {
	k, err := e.readKey(ctx)
	if err != nil {
		return 0, err
	}
	switch k.state {
	case keyAbsent, keyDeleted:
		return e.put(ctx, k.rev, "")
	}
	return 0, jetstream.ErrKeyExists
}

// Holder returns the id stored in the key, "" when nobody holds it, or
// UnknownHolder. It reads the bucket, so it may name a holder that has
// just fenced itself.
func (e *Elector) Holder(ctx context.Context) (string, error) {
	k, err := e.readKey(ctx)
	if err != nil {
		return "", fmt.Errorf("leader: holder: %w", err)
	}
	return k.holder(), nil
}

// UnknownHolder is the holder Holder and Silence name when the key holds
// what no candidate wrote: it may hide a live holder's renewal, so it
// counts as held until it expires.
const UnknownHolder = "?"

// Silence is what a standby sees of the holder's renewals.
type Silence struct {
	// Holder is the id in the key, "" when nobody holds it, UnknownHolder
	// when it holds what no candidate wrote.
	Holder string
	// Revision changes with every renewal.
	Revision uint64
	// For is how long ago the key was last written: the server's stamp
	// read on this host's clock, so only as good as the two clocks agree
	// (never negative).
	For time.Duration
}

// Silence reads the key. It never changes who holds the lease.
func (e *Elector) Silence(ctx context.Context) (Silence, error) {
	k, err := e.readKey(ctx)
	if err != nil {
		return Silence{}, fmt.Errorf("leader: holder: %w", err)
	}
	if k.state == keyAbsent || k.state == keyDeleted {
		return Silence{}, nil
	}
	return Silence{Holder: k.holder(), Revision: k.rev, For: max(0, time.Since(k.stamp))}, nil
}

// MissedRenewal is how long a holder's key goes unwritten before a
// standby may think it dead: renewals come every TTL/4, so 3/8 TTL is a
// renewal late by half its period. A holder that is only slow renews
// afterwards; one that is dead loses the key at TTL.
func (e *Elector) MissedRenewal() time.Duration { return e.opts.TTL * 3 / 8 }

// Poll is how often a standby tries to acquire the lease.
func (e *Elector) Poll() time.Duration { return e.poll }

// Lease is the proof that this process is the active backend, for as long
// as Done is open.
type Lease struct {
	e       *Elector
	release chan struct{}
	done    chan struct{}
	relOnce sync.Once

	// Written by the renewal goroutine before it closes done; read after.
	err  error
	rev  uint64
	held bool // the key was still ours when renewing stopped

	delOnce sync.Once
	delErr  error
}

func (e *Elector) hold(ctx context.Context, rev uint64, sent time.Time) *Lease {
	l := &Lease{e: e, release: make(chan struct{}), done: make(chan struct{})}
	go l.renew(ctx, rev, sent)
	return l
}

// Done is closed when the lease is lost or released. From then on this
// process must not act as the active backend.
func (l *Lease) Done() <-chan struct{} { return l.done }

// Err is nil while the lease is held, then ErrLost (wrapped with why) or
// ErrReleased.
func (l *Lease) Err() error {
	select {
	case <-l.done:
		return l.err
	default:
		return nil
	}
}

// Release stops renewing and deletes the key if it is still this lease's
// revision, so that a standby takes over at once instead of after TTL. It
// waits for a renewal in flight (at most 3/4 TTL). Releasing a lost lease
// does nothing; Err keeps reporting the loss.
func (l *Lease) Release(ctx context.Context) error {
	l.relOnce.Do(func() { close(l.release) })
	select {
	case <-l.done:
	case <-ctx.Done():
		return fmt.Errorf("leader: release: %w", context.Cause(ctx))
	}
	if !l.held {
		return nil
	}
	l.delOnce.Do(func() {
		_, err := l.e.put(ctx, l.rev, "DEL")
		if err != nil && !errors.Is(err, errMismatch) {
			// The key expires after TTL anyway: the handover is only slower.
			l.delErr = fmt.Errorf("leader: release: delete key: %w", err)
		}
	})
	return l.delErr
}

// renew is the lease's only goroutine; it ends, closing done, on loss or
// Release (ctx carries the Campaign context's values, not its end).
//
// The fence: the server stamps a renewal no earlier than we sent it, so
// the key lives at least TTL past okSent. Giving up at okSent + 3/4 TTL
// on our monotonic clock leaves a quarter TTL for our own timers and
// scheduling before a standby can see the key gone.
func (l *Lease) renew(ctx context.Context, rev uint64, okSent time.Time) {
	defer close(l.done)
	ttl := l.e.opts.TTL
	log := l.e.opts.Log.With("id", l.e.opts.ID)
	next := okSent.Add(ttl / 4)
	var lastErr error
	for {
		fence := okSent.Add(ttl * 3 / 4)
		wake := min(time.Until(next), time.Until(fence))
		timer := time.NewTimer(wake)
		select {
		case <-l.release:
			timer.Stop()
			l.err, l.rev, l.held = ErrReleased, rev, true
			log.Info("leader: released the lease")
			return
		case <-ctx.Done():
			timer.Stop()
			l.lose(log, fmt.Errorf("%w: %w", ErrLost, context.Cause(ctx)))
			return
		case <-timer.C:
		}
		sent := time.Now()
		if !sent.Before(fence) {
			why := fmt.Errorf("%w: no renewal succeeded for %v, fenced before the key can expire", ErrLost, sent.Sub(okSent).Round(time.Millisecond))
			if lastErr != nil {
				why = fmt.Errorf("%w: %w", why, lastErr)
			}
			l.lose(log, why)
			return
		}
		// Past the fence the answer no longer matters, so it bounds the wait.
		rctx, cancel := context.WithDeadline(ctx, fence)
		newRev, err := l.e.put(rctx, rev, "")
		cancel()
		switch {
		case err == nil:
			rev, okSent, lastErr = newRev, sent, nil
			next = sent.Add(ttl / 4)
		case errors.Is(err, errMismatch):
			over, lost, rerr := l.e.writeOver(ctx, fence)
			switch {
			case rerr != nil:
				// Unknown yet: try again until the fence.
				lastErr = rerr
				next = time.Now().Add(l.e.poll)
			case lost:
				l.lose(log, fmt.Errorf("%w: the key changed under us: %w", ErrLost, err))
				return
			default:
				// Not a candidate's write (a candidate writes only a key
				// that is gone): the server's answer to somebody's JetStream
				// request, sent here as its reply; or our own renewal whose
				// answer was lost. Ours to write over.
				log.Warn("leader: the key holds what no other candidate wrote (somebody's JetStream answer, or our renewal); writing over it", "revision", over)
				rev, next = over, time.Now()
			}
		default:
			lastErr = err
			log.Debug("leader: renewal failed; retrying until the fence", "err", err, "fence_in", time.Until(fence).Round(time.Millisecond))
			next = time.Now().Add(l.e.poll)
		}
	}
}

// writeOver says what the holder does with a key that changed under it:
// write over it at revision over, when it holds what no candidate wrote
// (keyForeign: a holder that took it for another candidate, or for a
// release, would give the lease up to anyone who can ask JetStream
// anything) or our own mark (a renewal whose answer was lost); give the
// lease up (lost) for another candidate's id or release, or no key. err:
// the key could not be read.
func (e *Elector) writeOver(ctx context.Context, fence time.Time) (over uint64, lost bool, err error) {
	gctx, cancel := context.WithDeadline(ctx, fence)
	defer cancel()
	k, err := e.readKey(gctx)
	if err != nil {
		return 0, false, err
	}
	if k.state == keyForeign || (k.state == keyHeld && k.mark == e.mark) {
		return k.rev, false, nil
	}
	return 0, true, nil
}

func (l *Lease) lose(log *slog.Logger, err error) {
	l.err = err
	log.Warn("leader: lost the lease", "err", err)
}
