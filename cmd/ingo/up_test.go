package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
)

// runUp runs `ingo up --runtime noop` on dataDir with its HTTP API at
// httpAddr (in clear) and args, until ctx ends (cancel ends it when the
// test does), and waits until it is ready. It returns the log; up must
// exit 0.
func runUp(t *testing.T, ctx context.Context, cancel context.CancelFunc, dataDir, httpAddr string, args ...string) *syncBuffer {
	t.Helper()
	var log syncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, append([]string{"up", "--runtime", "noop", "--data-dir", dataDir, "--http-addr", httpAddr,
			"--nats-url", "nats://" + freeAddr(t), "--set", "agent.cache-dir=" + t.TempDir()}, args...), io.Discard, &log)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-exited:
			if code != exitOK {
				t.Errorf("up exited %d:\n%s", code, log.String())
			}
		case <-time.After(20 * time.Second):
			t.Error("up did not stop within 20s")
		}
	})
	// No connection kept: it would count against the API's bounds.
	once := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	testutil.Eventually(t, 20*time.Second, func() bool {
		res, err := once.Get("http://" + httpAddr + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, "ingo up never got ready")
	return &log
}

// TestUp_HTTPConnectionBounds: http-max-conns-per-addr reaches the API of
// ingo up: one address cannot hold more, and others are still served.
func TestUp_HTTPConnectionBounds(t *testing.T) {
	isolate(t)
	ctx, cancel := context.WithCancel(t.Context())
	httpAddr := freeAddr(t)
	runUp(t, ctx, cancel, t.TempDir(), httpAddr, "--set", "http-max-conns-per-addr=3")

	dial := func() net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 3)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	kept := func(c net.Conn) bool {
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout()
	}
	for i := range 3 {
		if !kept(dial()) {
			t.Fatalf("connection %d from 127.0.0.3 closed, under the bound of 3", i+1)
		}
	}
	if kept(dial()) {
		t.Error("a fourth connection from 127.0.0.3 was kept: http-max-conns-per-addr=3 did not reach the API")
	}
	res, err := http.Get("http://" + httpAddr + "/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("another address was not served: %v, %v", res, err)
	}
	res.Body.Close()
}

// ingo up's /metrics has the INGInious bridge's counters when it serves
// the bridge (before, an operator saw a flood of connections or jobs only
// in its sampled log).
func TestUp_BridgeMetrics(t *testing.T) {
	isolate(t)
	ctx, cancel := context.WithCancel(t.Context())
	httpAddr := freeAddr(t)
	runUp(t, ctx, cancel, t.TempDir(), httpAddr, "--inginious", "tcp://"+freeAddr(t), "--inginious-tasks", t.TempDir())
	var body []byte
	testutil.Eventually(t, 20*time.Second, func() bool {
		res, err := http.Get("http://" + httpAddr + "/metrics")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		body, _ = io.ReadAll(res.Body)
		return bytes.Contains(body, []byte("ingo_inginious_connections 0"))
	}, "no bridge metrics")
	for _, want := range []string{"ingo_inginious_jobs 0", "ingo_inginious_unfinished_bytes 0"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
