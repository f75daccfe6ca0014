package gcfloor

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

const MiB = 1 << 20

func TestSettingFor(t *testing.T) {
	none := int64(math.MaxInt64)
	for _, c := range []struct {
		name                          string
		live, scan, nonHeap, headroom uint64
		base                          int
		baseLimit                     int64
		large                         int
		want                          setting
	}{
		{"small heap", 16 * MiB, 16 * MiB, 0, 64 * MiB, 100, none, 0, setting{400, 160 * MiB}},
		{"stacks and globals count", 8 * MiB, 16 * MiB, 0, 64 * MiB, 100, none, 0, setting{400, 144 * MiB}},
		{"the runtime's least goal counts", 1 * MiB, 2 * MiB, 0, 64 * MiB, 100, none, 0, setting{1625, 130 * MiB}},
		{"heap as large as the floor", 64 * MiB, 64 * MiB, 0, 64 * MiB, 100, none, 0, setting{100, none}},
		{"a million queued jobs", 500 * MiB, 510 * MiB, 0, 256 * MiB, 100, none, 0, setting{100, none}},
		{"a million queued jobs, growth capped", 500 * MiB, 510 * MiB, 0, 256 * MiB, 100, none, 70, setting{70, none}},
		{"just past the floor, the floor still rules", 300 * MiB, 300 * MiB, 0, 256 * MiB, 100, none, 70, setting{85, none}},
		{"at the floor, no jump", 256 * MiB, 256 * MiB, 0, 256 * MiB, 100, none, 70, setting{100, none}},
		{"a cap above GOGC is no cap", 500 * MiB, 500 * MiB, 0, 256 * MiB, 50, none, 70, setting{50, none}},
		{"the cap leaves a small heap to the floor", 16 * MiB, 16 * MiB, 0, 64 * MiB, 100, none, 70, setting{400, 160 * MiB}},
		{"GOMEMLIMIT below the net", 16 * MiB, 16 * MiB, 0, 64 * MiB, 100, 100 * MiB, 0, setting{400, 100 * MiB}},
		{"GOMEMLIMIT kept on a large heap", 500 * MiB, 500 * MiB, 0, 64 * MiB, 50, 900 * MiB, 0, setting{50, 900 * MiB}},
		{"GOGC above the floor", 16 * MiB, 16 * MiB, 0, 64 * MiB, 800, none, 0, setting{800, 160 * MiB}},
		{"a tiny heap", 100, 100, 0, 64 * MiB, 100, none, 0, setting{1600, 2 * (100 + 64*MiB)}},
		{"the cap", 100, 100, 0, 64 << 30, 100, none, 0, setting{maxPercent, 2 * (100 + 64<<30)}},
		{"nothing read", 0, 0, 0, 64 * MiB, 100, none, 0, setting{100, none}},
		{"many goroutines: their stacks are under the net", 20 * MiB, 180 * MiB, 160 * MiB, 64 * MiB, 100, none, 0, setting{100, 328 * MiB}},
	} {
		if got := settingFor(c.live, c.scan, c.nonHeap, c.headroom, c.base, c.baseLimit, c.large); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func read(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// eventually collects until ok: the floor adjusts on the finalizer
// goroutine after a collection.
func eventually(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: GOGC %d, goal %d MiB, live %d MiB, limit %d", what, read("/gc/gogc:percent"),
				read("/gc/heap/goal:bytes")/MiB, read("/gc/heap/live:bytes")/MiB, debug.SetMemoryLimit(-1))
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

// A small live heap gets the floor: the next collection's goal is the
// headroom past the live heap, with a memory limit as a net; a large one
// gets GOGC's own and no limit, or the cap once set; Stop gives both back.
func TestFloorFollowsTheLiveHeap(t *testing.T) {
	const headroom = 64 * MiB
	f := Start(headroom)
	eventually(t, func() bool {
		goal, live := read("/gc/heap/goal:bytes"), read("/gc/heap/live:bytes")
		limit := debug.SetMemoryLimit(-1)
		return goal > live+headroom-4*MiB && goal < live+headroom+4*MiB && limit > 0 && uint64(limit) < 4*headroom
	}, "small heap")
	f.Stop()
	eventually(t, func() bool { return read("/gc/gogc:percent") == 100 && debug.SetMemoryLimit(-1) == math.MaxInt64 }, "after stop")

	f = Start(headroom)
	defer f.Stop()
	big := make([][]byte, 32) // 256 MiB live: more than the floor
	for i := range big {
		big[i] = make([]byte, 8*MiB)
	}
	eventually(t, func() bool { return read("/gc/gogc:percent") == 100 && debug.SetMemoryLimit(-1) == math.MaxInt64 }, "a large live heap")
	f.CapGrowth(60)
	eventually(t, func() bool { return read("/gc/gogc:percent") == 60 && debug.SetMemoryLimit(-1) == math.MaxInt64 }, "a large live heap, capped")
	f.CapGrowth(0)
	eventually(t, func() bool { return read("/gc/gogc:percent") == 100 }, "the cap taken off")
	runtime.KeepAlive(big)
	big = nil
	eventually(t, func() bool { return read("/gc/gogc:percent") > 100 }, "the heap small again")
}
