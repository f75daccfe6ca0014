package gcfloor

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// maxPercent bounds the percent the floor may set.
const maxPercent = 100_000

// heapMinimum is the runtime's least goal at GOGC=100, which it scales by
// the percent (Go's GC guide: "a minimum total heap size of 4 MiB"). At a
// live heap of a few MiB it is what sets the goal, not the live heap.
const heapMinimum = 4 << 20

// setting is what the floor sets after a collection: the GC percent and
// the memory limit.
type setting struct {
	percent int
	limit   int64
}

// settingFor is the setting that keeps headroom bytes past a live heap of
// live bytes while the live heap is smaller than headroom, and the
// process's own (base percent, baseLimit) otherwise, capped by large.
// scan is what the runtime multiplies the percent by: the live heap with
// the stacks and globals it scans (the goal is live + scan × percent /
// 100, and at least heapMinimum × percent / 100).
//
// The limit is a net against a percent gone stale: the floor sets the
// percent after a collection, and if the next one comes before that (the
// finalizer goroutine is late) a percent made for a small heap would apply
// to a much larger one, a goal of many times the memory meant. With the
// limit at twice the goal meant, the runtime collects by then whatever the
// percent. The runtime's limit counts all its memory, so the net adds
// what is not heap (nonHeap: goroutine stacks, metadata), which a process
// with many goroutines has much of: a net of heap only would sit below
// what such a process holds, and the collector would run without end.
//
// Past the floor, large (when above 0 and below base) caps the growth: the
// heap grows by the floor or by large percent of what is live, whichever
// is more, and never by more than base percent. So the goal falls from
// base to large percent smoothly as the live heap grows past the floor.
func settingFor(live, scan, nonHeap, headroom uint64, base int, baseLimit int64, large int) setting {
	if scan == 0 {
		return setting{percent: base, limit: baseLimit}
	}
	if live >= headroom {
		if large <= 0 || large >= base {
			return setting{percent: base, limit: baseLimit}
		}
		return setting{percent: min(base, max(large, int(headroom*100/scan))), limit: baseLimit}
	}
	p := min(headroom*100/scan, (live+headroom)*100/heapMinimum, maxPercent)
	limit := 2*(live+headroom) + nonHeap
	if limit > math.MaxInt64/2 {
		limit = math.MaxInt64 / 2
	}
	return setting{percent: max(base, int(p)), limit: min(baseLimit, int64(limit))}
}

// Floor is a running floor; its methods are safe from any goroutine.
type Floor struct {
	headroom  uint64
	base      int
	baseLimit int64
	sample    []metrics.Sample

	mu      sync.Mutex // adjust runs on the finalizer goroutine; the rest on their callers'
	large   int
	stopped bool
	last    setting
}

// sentinel is what the collector finds unreachable each cycle; it is
// larger than the tiny allocator's 16 bytes, whose objects may share a
// block and never be finalized alone.
type sentinel struct{ _ [32]byte }

// Start keeps at least headroom bytes between the live heap and the next
// collection, until Stop. With GOGC off it does nothing (and neither do
// the Floor's methods).
func Start(headroom uint64) *Floor {
	base := debug.SetGCPercent(100)
	debug.SetGCPercent(base)
	if base < 0 {
		return &Floor{stopped: true}
	}
	baseLimit := debug.SetMemoryLimit(-1) // GOMEMLIMIT, or no limit
	f := &Floor{headroom: headroom, base: base, baseLimit: baseLimit, last: setting{base, baseLimit},
		sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"},
			{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"},
			{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"},
			{Name: "/memory/classes/heap/free:bytes"}}}
	f.arm()
	return f
}

// Stop sets the percent and the memory limit back to what they were at
// Start.
func (f *Floor) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.stopped {
		f.stopped = true
		f.set(setting{f.base, f.baseLimit})
	}
}

// CapGrowth makes percent of the live heap (0: the process's own GOGC)
// the most the heap grows by past the floor, from the next collection on.
func (f *Floor) CapGrowth(percent int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.large = percent
}

func (f *Floor) arm() {
	runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
		if f.adjust() {
			f.arm()
		}
	})
}

// adjust sets the percent and limit for the live heap the last collection
// found; false once stopped.
func (f *Floor) adjust() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return false
	}
	metrics.Read(f.sample)
	var v [8]uint64
	for i, s := range f.sample {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	live, scan := v[0], v[0]+v[1]+v[2]
	// What the limit counts beside the heap's own pages: total less the
	// heap's objects, unused and free pages, and what went back to the OS.
	var nonHeap uint64
	if heap := v[4] + v[5] + v[6] + v[7]; v[3] > heap {
		nonHeap = v[3] - heap
	}
	f.set(settingFor(live, scan, nonHeap, f.headroom, f.base, f.baseLimit, f.large))
	return true
}

// set applies s where it changed: a lower percent before the limit
// changes, a higher one after, so that the goal never rises past what
// either setting allows in between.
func (f *Floor) set(s setting) {
	if s.percent < f.last.percent {
		debug.SetGCPercent(s.percent)
	}
	if s.limit != f.last.limit {
		debug.SetMemoryLimit(s.limit)
	}
	if s.percent > f.last.percent {
		debug.SetGCPercent(s.percent)
	}
	f.last = s
}
