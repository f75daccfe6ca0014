package bridge

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// TestBridgeStalledPeerHoldsNoOneElse: a webapp connection that reads
// nothing (a frozen process, or a hostile one that sends pings) does not
// hold the answers to another webapp. zmq4 writes to a peer under the
// lock of all its sends: the other webapp heard nothing for 30 s, and
// INGInious' client gives up on its backend after 11 s of silence and
// crashes every job in flight.
func TestBridgeStalledPeerHoldsNoOneElse(t *testing.T) {
	r := newRig(t)
	good := r.dial(t)
	good.send("ClientHello", map[string]any{"name": "good"})
	good.recv()

	bad := handshaken(t, r, "")
	if tc, ok := bad.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4 << 10)
	}
	ping, err := msgpack.Marshal(map[string]any{"@type": "Ping"})
	if err != nil {
		t.Fatal(err)
	}
	hello, _ := msgpack.Marshal(map[string]any{"@type": "ClientHello", "name": "frozen"})
	burst := frame(0, hello)
	for range 4000 {
		burst = append(burst, frame(0, ping)...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // pings, and reads none of the pongs
		for ctx.Err() == nil {
			_ = bad.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := bad.Write(burst); err != nil && ctx.Err() == nil {
				if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
					return
				}
			}
		}
	}()
	time.Sleep(2 * time.Second) // the bad peer's buffers fill
	for i := range 10 {
		start := time.Now()
		good.send("Ping", nil)
		if m := good.recv(); m["@type"] != "Pong" {
			t.Fatalf("ping %d: %v", i, m)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("ping %d answered after %v while another peer read nothing", i, d)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
