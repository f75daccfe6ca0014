package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalContext: the first SIGTERM cancels the context, the second
// exits at once.
func TestSignalContext(t *testing.T) {
	var stderr syncBuffer
	exited := make(chan struct{})
	ctx, stop := signalContext(context.Background(), &stderr, func() { close(exited) })
	defer stop()

	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("first SIGTERM did not cancel the context")
	}
	if !strings.Contains(context.Cause(ctx).Error(), "terminated") {
		t.Errorf("cause = %v, want the signal", context.Cause(ctx))
	}

	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("second SIGTERM did not exit")
	}
	if out := stderr.String(); !strings.Contains(out, "send it again") || !strings.Contains(out, "exiting now") {
		t.Errorf("stderr %q should explain both steps", out)
	}
}
