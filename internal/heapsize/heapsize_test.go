package heapsize

import (
	"runtime"
	"testing"
)

// TestOfIsNearWhatIsHeld: the estimate of a value is near what building
// it allocated (not a quarter below: the allocator's size classes round
// up; a few times above at most: an empty map costs less than its
// estimate, Go makes its table at its first key), for the shapes a
// decoder builds.
func TestOfIsNearWhatIsHeld(t *testing.T) {
	for name, build := range map[string]func() any{
		"empty maps": func() any {
			l := make([]any, 0, 10000)
			for range 10000 {
				l = append(l, map[string]any{})
			}
			return l
		},
		"maps of one map": func() any {
			m := make(map[string]any, 5000)
			for i := range 5000 {
				m[string(rune('a'+i%26))+string(rune(i))] = map[string]any{"k": map[string]any{}}
			}
			return m
		},
		"strings": func() any {
			l := make([]any, 0, 10000)
			for range 10000 {
				l = append(l, string(make([]byte, 100)))
			}
			return l
		},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		v := build()
		runtime.ReadMemStats(&after)
		held := int64(after.TotalAlloc - before.TotalAlloc)
		if est := Of(v); est < held*3/4 || est > held*6 {
			t.Errorf("%s: estimated %d bytes, building it allocated %d", name, est, held)
		}
		runtime.KeepAlive(v)
	}
}
