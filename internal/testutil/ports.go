package testutil

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// handedOut are the ports this process's tests were given: never given
// twice, though each is closed again before its test binds it.
var handedOut struct {
	sync.Mutex
	ports map[int]bool
}

// FreePort is a TCP port nobody listened on a moment ago, which no other
// test of this process was given.
func FreePort(t testing.TB) int {
	t.Helper()
	return FreePorts(t, 1)
}

// FreePorts is the first of n consecutive TCP ports nobody listened on a
// moment ago, which no other test of this process was given (an agent's
// SSH port range).
//
// The ports are below the kernel's ephemeral range: a port the kernel
// picked for bind(0) is one it may pick again for any connection's local
// end (a NATS client's, a Docker API call's) before the test binds it,
// and a port next to it is no safer. Below that range only a listener
// takes a port, and this checks there is none, on every address. Another
// test process (go test runs packages side by side) picks from the same
// span at random and may still pick the same port: a chance of a few in
// ten thousand per range, where bind(0) left every port open to any
// connection.
func FreePorts(t testing.TB, n int) int {
	t.Helper()
	if n < 1 {
		t.Fatalf("free ports: %d asked", n)
	}
	lo, hi := portSpan()
	if n > hi-lo {
		t.Fatalf("free ports: %d asked, %d-%d has fewer", n, lo, hi)
	}
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = map[int]bool{}
	}
	for range 500 {
		base := lo + rand.IntN(hi-lo-n+1)
		if bindable(base, n) {
			for p := base; p < base+n; p++ {
				handedOut.ports[p] = true
			}
			return base
		}
	}
	t.Fatalf("free ports: no %d consecutive free ports in %d-%d", n, lo, hi)
	return 0
}

// bindable tells whether ports base..base+n-1 are not handed out and can
// all be listened on now.
func bindable(base, n int) bool {
	for p := base; p < base+n; p++ {
		if handedOut.ports[p] {
			return false
		}
	}
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for p := base; p < base+n; p++ {
		l, err := net.Listen("tcp", ":"+strconv.Itoa(p))
		if err != nil {
			return false
		}
		held = append(held, l)
	}
	return true
}

// portSpan is where FreePorts picks: from 20000 up to the kernel's
// ephemeral range (Linux's default starts at 32768), or the whole span of
// unprivileged ports where that range leaves too little below it.
func portSpan() (lo, hi int) {
	lo, hi = 20000, 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	var first, last int
	if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &first, &last); err != nil {
		return lo, hi
	}
	switch {
	case first-lo >= 2000:
		return lo, first
	case first-1024 >= 2000:
		return 1024, first
	case 65536-(last+1) >= 2000:
		return last + 1, 65536
	}
	return 1024, 65536
}
