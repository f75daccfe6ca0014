package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// maxPercent bounds the percent the floor may set: with a live heap of
// a few hundred KiB, the floor over it would be a number the runtime
// takes but nobody could read sensibly.
const maxPercent = 100_000

// percentFor is the GC percent that keeps at least headroom bytes past
// a live heap of live bytes, and never less than base.
func percentFor(live, headroom uint64, base int) int {
	if live == 0 {
		return base
	}
	p := headroom * 100 / live
	if p > maxPercent {
		p = maxPercent
	}
	return max(base, int(p))
}

type floor struct {
	headroom uint64
	base     int
	sample   []metrics.Sample

	mu      sync.Mutex // adjust runs on the finalizer goroutine; stop on the caller's
	stopped bool
	last    int
}

// sentinel is what the collector finds unreachable each cycle; it is
// larger than the tiny allocator's 16 bytes, whose objects may share a
// block and never be finalized alone.
type sentinel struct{ _ [32]byte }

// Start keeps at least headroom bytes between the live heap and the next
// collection, until the returned stop, which sets the percent back to
// what it was. With GOGC off it does nothing.
func Start(headroom uint64) (stop func()) {
	base := debug.SetGCPercent(100)
	debug.SetGCPercent(base)
	if base < 0 {
		return func() {}
	}
	f := &floor{headroom: headroom, base: base, last: base,
		sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	f.arm()
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.stopped {
			f.stopped = true
			debug.SetGCPercent(f.base)
		}
	}
}

func (f *floor) arm() {
	runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
		if f.adjust() {
			f.arm()
		}
	})
}

// adjust sets the percent for the live heap the last collection found;
// false once stopped.
func (f *floor) adjust() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return false
	}
	metrics.Read(f.sample)
	var live uint64
	if f.sample[0].Value.Kind() == metrics.KindUint64 {
		live = f.sample[0].Value.Uint64()
	}
	if p := percentFor(live, f.headroom, f.base); p != f.last {
		debug.SetGCPercent(p)
		f.last = p
	}
	return true
}
