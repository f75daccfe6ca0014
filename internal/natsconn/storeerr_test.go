package natsconn

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

func TestExplainStore(t *testing.T) {
	storeFailed := &jetstream.APIError{Code: 500, ErrorCode: 10049, Description: "error creating store for stream"}
	insufficient := &jetstream.APIError{Code: 503, ErrorCode: 10023, Description: "insufficient resources"}
	// An embedded server on a disk smaller than the streams' bounds
	// answers this one: it was passed on with "does the NATS server run
	// JetStream?" and nothing about the bounds.
	storageExceeded := &jetstream.APIError{Code: 500, ErrorCode: 10047, Description: "insufficient storage resources available"}
	other := &jetstream.APIError{Code: 400, ErrorCode: 10058, Description: "stream name already in use"}
	for _, tc := range []struct {
		name    string
		err     error
		explain string // what the explanation holds; "" for none
	}{
		{"store failed", storeFailed, "disk is full"},
		{"store failed, wrapped", fmt.Errorf("journal: stream INGO_JOBS: %w", storeFailed), "disk is full"},
		{"insufficient resources", fmt.Errorf("task bundle store: %w", insufficient), "max_file_store"},
		{"insufficient storage", fmt.Errorf("task bundle store: %w", storageExceeded), "backend.bundle-max-bytes"},
		{"another API error", other, ""},
		{"not an API error", errors.New("nats: timeout"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ExplainStore(tc.err)
			if !errors.Is(got, tc.err) {
				t.Errorf("ExplainStore(%v) = %v, which does not wrap it", tc.err, got)
			}
			explained := fmt.Sprint(got) != fmt.Sprint(tc.err)
			if explained != (tc.explain != "") || !strings.Contains(fmt.Sprint(got), tc.explain) {
				t.Errorf("ExplainStore(%v) = %q, want an explanation with %q", tc.err, got, tc.explain)
			}
		})
	}
	for _, err := range []error{insufficient, fmt.Errorf("x: %w", storageExceeded)} {
		if !StoreBound(err) {
			t.Errorf("StoreBound(%v) = false", err)
		}
	}
	for _, err := range []error{storeFailed, other, errors.New("nats: timeout"), nil} {
		if StoreBound(err) {
			t.Errorf("StoreBound(%v) = true", err)
		}
	}
	if ExplainStore(nil) != nil {
		t.Error("ExplainStore(nil) is not nil")
	}
}
