package messages_test

import (
	"bytes"
	"errors"
	"math"
	"os"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// TestUsageLegacyWire: a result of before usage existed (an agent or
// backend of an older version) decodes to a nil Usage (unknown), and a
// result without usage encodes to those same bytes.
func TestUsageLegacyWire(t *testing.T) {
	data, err := os.ReadFile("testdata/legacy/AgentJobDone-no-usage.cbor")
	if err != nil {
		t.Fatal(err)
	}
	m, err := messages.Decode(data)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	done, ok := m.(*messages.AgentJobDone)
	if !ok || done.Usage != nil {
		t.Fatalf("got %#v, want an AgentJobDone without usage", m)
	}
	again, err := messages.Encode(done)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Errorf("a result without usage encodes differently:\n got %x\nwant %x", again, data)
	}
}

// TestUsageBounds: a usage that cannot be a measurement is refused by
// Validate, by Decode (the message is malformed) and by CheckEncoded.
func TestUsageBounds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		u    *messages.Usage
		ok   bool
	}{
		{"nil", nil, true},
		{"zero: unknown", &messages.Usage{}, true},
		{"full", &messages.Usage{WallTime: 1.3, CPUTime: 1.02, MemoryPeak: 53,
			Students: &messages.StudentUsage{Containers: 2, CPUTime: 0.5}}, true},
		{"negative cpu", &messages.Usage{CPUTime: -1}, false},
		{"negative wall", &messages.Usage{WallTime: -0.001}, false},
		{"peak over the bound", &messages.Usage{MemoryPeak: 1 << 31}, false},
		{"wall over a year", &messages.Usage{WallTime: 400 * 24 * 3600}, false},
		{"negative students", &messages.Usage{Students: &messages.StudentUsage{Containers: -1}}, false},
		{"negative student peak", &messages.Usage{Students: &messages.StudentUsage{Containers: 1, MemoryPeak: -2}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.u.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate = %v, want ok %v", err, tc.ok)
			}
			r := messages.JobResult{Result: messages.Result{Status: messages.StatusSuccess}, Usage: tc.u}
			data, err := messages.Encode(&messages.AgentJobDone{JobID: "j", Attempt: 1, JobResult: r})
			if err != nil {
				t.Fatal(err)
			}
			_, decErr := messages.Decode(data)
			if (decErr == nil) != tc.ok {
				t.Fatalf("Decode = %v, want ok %v", decErr, tc.ok)
			}
			if decErr != nil && !errors.Is(decErr, messages.ErrMalformed) {
				t.Fatalf("Decode error %v does not wrap ErrMalformed", decErr)
			}
			if err := r.CheckEncoded(data); (err == nil) != tc.ok {
				t.Fatalf("CheckEncoded = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestUsageNotFinite: the encoder refuses NaN and infinities before
// Validate could see them, and Validate refuses them too for callers that
// check a value they made.
func TestUsageNotFinite(t *testing.T) {
	t.Parallel()
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		u := &messages.Usage{CPUTime: v}
		if err := u.Validate(); err == nil {
			t.Errorf("Validate(%v) = nil", v)
		}
		r := messages.JobResult{Usage: u}
		if _, err := messages.Encode(&messages.AgentJobDone{JobID: "j", Attempt: 1, JobResult: r}); err == nil {
			t.Errorf("Encode with cpu_time %v succeeded", v)
		}
	}
}
