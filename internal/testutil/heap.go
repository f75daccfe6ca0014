package testutil

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// HeapGrowth runs f and returns the heap's objects before it and their
// peak while it ran, sampled as fast as the scheduler lets a goroutine:
// bytes, not time, for tests of a memory bound. The collector runs at
// GOGC 20 meanwhile, so that garbage the collector has not freed yet
// (a proportion of what is live, which earlier tests of a package leave)
// moves the measure little.
func HeapGrowth(f func()) (base, peak uint64) {
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	const name = "/memory/classes/heap/objects:bytes"
	heap := []metrics.Sample{{Name: name}}
	runtime.GC()
	metrics.Read(heap)
	base = heap[0].Value.Uint64()
	var top atomic.Uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		s := []metrics.Sample{{Name: name}}
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > top.Load() {
				top.Store(v)
			}
			select {
			case <-stop:
				return
			default:
				runtime.Gosched()
			}
		}
	}()
	f()
	close(stop)
	<-sampled
	return base, top.Load()
}
