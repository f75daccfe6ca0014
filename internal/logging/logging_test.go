package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestNew_FormatsAndLevels(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := New(&buf, "warn", "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("want one JSON line, got %q: %v", buf.String(), err)
	}
	if line["msg"] != "shown" {
		t.Errorf("msg = %v, want shown", line["msg"])
	}

	buf.Reset()
	log, err = New(&buf, "debug", "text")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("visible")
	if !strings.Contains(buf.String(), "msg=visible") {
		t.Errorf("text output %q lacks the debug line", buf.String())
	}
}

func TestNew_RejectsUnknownValues(t *testing.T) {
	t.Parallel()
	if _, err := New(nil, "loud", "text"); err == nil || !strings.Contains(err.Error(), "debug, info, warn, error") {
		t.Errorf("bad level: err = %v, want the list of levels", err)
	}
	if _, err := New(nil, "info", "xml"); err == nil || !strings.Contains(err.Error(), "text, json") {
		t.Errorf("bad format: err = %v, want the list of formats", err)
	}
}

func TestAtLeast(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := New(&buf, "debug", "text")
	if err != nil {
		t.Fatal(err)
	}
	quiet := AtLeast(log, slog.LevelWarn).With("component", "nats")
	quiet.Info("banner")
	quiet.Warn("trouble")
	if out := buf.String(); strings.Contains(out, "banner") || !strings.Contains(out, "trouble") || !strings.Contains(out, "component=nats") {
		t.Errorf("AtLeast(warn) output %q: want the warning only, with its attributes", out)
	}
}

// TestLimited: a flood passes burst records per interval, and the next
// record that passes counts those dropped.
func TestLimited(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	base, err := New(&buf, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	log := slog.New(&limited{Handler: base.Handler(),
		state: &limitState{interval: time.Minute, burst: 3, now: func() time.Time { return now }}}).With("component", "x")
	for range 1000 {
		log.Warn("refused")
	}
	if n := strings.Count(buf.String(), "\n"); n != 3 {
		t.Fatalf("%d lines of a flood, want 3:\n%s", n, buf.String())
	}
	now = now.Add(time.Minute)
	buf.Reset()
	log.Warn("refused")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["dropped"] != 997.0 || rec["component"] != "x" {
		t.Errorf("the record after the flood: %q (%v), want dropped 997", buf.String(), err)
	}
}
