package gcfloor

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercentFor(t *testing.T) {
	for _, c := range []struct {
		live, headroom uint64
		base, want     int
	}{
		{live: 16 << 20, headroom: 64 << 20, base: 100, want: 400},
		{live: 64 << 20, headroom: 64 << 20, base: 100, want: 100},
		{live: 500 << 20, headroom: 64 << 20, base: 100, want: 100}, // a million queued jobs: GOGC's own
		{live: 500 << 20, headroom: 64 << 20, base: 50, want: 50},
		{live: 16 << 20, headroom: 64 << 20, base: 800, want: 800}, // an operator's GOGC above the floor
		{live: 0, headroom: 64 << 20, base: 100, want: 100},
		{live: 1, headroom: 64 << 20, base: 100, want: maxPercent},
	} {
		if got := percentFor(c.live, c.headroom, c.base); got != c.want {
			t.Errorf("percentFor(%d, %d, %d) = %d, want %d", c.live, c.headroom, c.base, got, c.want)
		}
	}
}

func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// eventually collects until the percent is want: the floor adjusts on the
// finalizer goroutine after a collection.
func eventually(t *testing.T, want int, what string) {
	t.Helper()
	eventuallyThat(t, func(p int) bool { return p == want }, what)
}

func eventuallyThat(t *testing.T, ok func(int) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok(gogc()) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: GOGC %d", what, gogc())
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

// A small live heap gets the floor; a large one GOGC's own; stop gives the
// percent back.
func TestFloorFollowsTheLiveHeap(t *testing.T) {
	stop := Start(1 << 40) // far above any live heap: the percent is the cap
	eventually(t, maxPercent, "small heap")
	stop()
	eventually(t, 100, "after stop")

	stop = Start(64 << 20)
	defer stop()
	big := make([][]byte, 32) // 256 MiB live: more than the floor
	for i := range big {
		big[i] = make([]byte, 8<<20)
	}
	eventually(t, 100, "a large live heap")
	runtime.KeepAlive(big)
	big = nil
	eventuallyThat(t, func(p int) bool { return p > 100 }, "the heap small again")
}
