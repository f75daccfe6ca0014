package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestBridge_AllowSetting: inginious.allow reaches the bridge. It did
// not (runBridgeOn built the bridge's options anew without it): a webapp
// on another host could never connect, and a narrower list than the
// default (loopback) let all of loopback in.
func TestBridge_AllowSetting(t *testing.T) {
	client := startSystem(t, "--runtime", "noop")
	awaitDefault(t, client)
	addr := freeAddr(t)
	go client("inginious-bridge", "--listen", "tcp://0.0.0.0:"+addr[len("127.0.0.1:"):], "--tasks-dir", t.TempDir(),
		"--set", "inginious.allow=127.0.0.2/32")

	// dialFrom returns what the bridge sends a connection from ip in a
	// second: its ZeroMQ greeting, or nothing (closed at once).
	dialFrom := func(ip string) []byte {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			return nil
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		b := make([]byte, 10)
		n, _ := io.ReadFull(c, b)
		return b[:n]
	}
	testutil.Eventually(t, 20*time.Second, func() bool { return len(dialFrom("127.0.0.2")) == 10 },
		"the bridge never greeted a connection from 127.0.0.2, which inginious.allow lists")
	if got := dialFrom("127.0.0.1"); len(got) != 0 {
		t.Errorf("a connection from 127.0.0.1, which inginious.allow does not list, got %q", got)
	}
}

// TestBridge_MetricsAddr: a bridge of its own serves its counters at
// inginious.metrics-addr: here a connection from outside inginious.allow,
// closed and counted.
func TestBridge_MetricsAddr(t *testing.T) {
	client := startSystem(t, "--runtime", "noop")
	awaitDefault(t, client)
	addr, maddr := freeAddr(t), freeAddr(t)
	go client("inginious-bridge", "--listen", "tcp://0.0.0.0:"+addr[len("127.0.0.1:"):], "--tasks-dir", t.TempDir(),
		"--set", "inginious.allow=127.0.0.2/32", "--metrics-addr", maddr)
	scrape := func() string {
		res, err := http.Get("http://" + maddr + "/metrics")
		if err != nil {
			return ""
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	testutil.Eventually(t, 20*time.Second, func() bool { return strings.Contains(scrape(), "ingo_inginious_connections 0") },
		"no bridge metrics at inginious.metrics-addr")
	testutil.Eventually(t, 20*time.Second, func() bool {
		if c, err := net.Dial("tcp", addr); err == nil { // from 127.0.0.1, not allowed
			_, _ = c.Read(make([]byte, 1))
			c.Close()
		}
		return strings.Contains(scrape(), `reason="not-allowed"`)
	}, "the refused connection was not counted")
	if m := scrape(); !strings.Contains(m, `ingo_nats_`) || !strings.Contains(m, `component="inginious"`) {
		t.Errorf("no NATS connection metrics of the bridge:\n%.2000s", m)
	}
}
