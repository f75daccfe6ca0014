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
	other := &jetstream.APIError{Code: 400, ErrorCode: 10058, Description: "stream name already in use"}
	for _, tc := range []struct {
		name    string
		err     error
		explain bool
	}{
		{"store failed", storeFailed, true},
		{"store failed, wrapped", fmt.Errorf("journal: stream INGO_JOBS: %w", storeFailed), true},
		{"another API error", other, false},
		{"not an API error", errors.New("nats: timeout"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ExplainStore(tc.err)
			if !errors.Is(got, tc.err) {
				t.Errorf("ExplainStore(%v) = %v, which does not wrap it", tc.err, got)
			}
			if explained := strings.Contains(fmt.Sprint(got), "disk is full"); explained != tc.explain {
				t.Errorf("ExplainStore(%v) = %q, explained %v, want %v", tc.err, got, explained, tc.explain)
			}
		})
	}
	if ExplainStore(nil) != nil {
		t.Error("ExplainStore(nil) is not nil")
	}
}
