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
	other := &jetstream.APIError{Code: 400, ErrorCode: 10058, Description: "stream name already in use"}
	for _, tc := range []struct {
		name    string
		err     error
		explain string // what the explanation holds; "" for none
	}{
		{"store failed", storeFailed, "disk is full"},
		{"store failed, wrapped", fmt.Errorf("journal: stream INGO_JOBS: %w", storeFailed), "disk is full"},
		{"insufficient resources", fmt.Errorf("task bundle store: %w", insufficient), "max_file_store"},
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
	if ExplainStore(nil) != nil {
		t.Error("ExplainStore(nil) is not nil")
	}
}
