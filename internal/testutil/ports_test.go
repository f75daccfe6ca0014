package testutil

import (
	"net"
	"strconv"
	"testing"
)

// TestFreePorts: ranges are never handed out twice, stay out of the
// kernel's ephemeral range, and skip a port someone listens on.
func TestFreePorts(t *testing.T) {
	lo, hi := portSpan()
	seen := map[int]bool{}
	for _, n := range []int{1, 2, 4, 1, 3, 1, 4, 2} {
		for range 25 {
			base := FreePorts(t, n)
			for p := base; p < base+n; p++ {
				if p < lo || p >= hi {
					t.Fatalf("port %d outside %d-%d", p, lo, hi)
				}
				if seen[p] {
					t.Fatalf("port %d handed out twice", p)
				}
				seen[p] = true
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	handedOut.Lock()
	defer handedOut.Unlock()
	if bindable(taken, 1) {
		t.Errorf("port %d is listened on, yet bindable", taken)
	}
	// A range with a listener on its second port, none handed out.
	for base := lo; base+1 < hi; base++ {
		if handedOut.ports[base] || handedOut.ports[base+1] {
			continue
		}
		busy, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+1))
		if err != nil {
			continue
		}
		defer busy.Close()
		if bindable(base, 2) {
			t.Errorf("range %d-%d has a listener, yet bindable", base, base+1)
		}
		return
	}
	t.Fatal("no range to try a listener in")
}
