package api

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// TestBackendRefusals: what the backend refuses maps to an HTTP status,
// and a refusal that says to ask again soon says when.
func TestBackendRefusals(t *testing.T) {
	tests := []struct {
		code       messages.ErrorCode
		status     int
		retryAfter string
	}{
		{messages.CodeThrottled, 503, "1"},
		{messages.CodeUnavailable, 503, ""},
		{messages.CodeQueueFull, 429, ""},
		{messages.CodeUnknownJob, 404, ""},
		{messages.CodeDuplicateJob, 409, ""},
		{messages.CodeBadRequest, 400, ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			w := httptest.NewRecorder()
			fail(w, fmt.Errorf("queue: %w", &messages.Error{Code: tt.code, Text: "no"}))
			if w.Code != tt.status || w.Header().Get("Retry-After") != tt.retryAfter ||
				!strings.Contains(w.Body.String(), `"`+string(tt.code)+`"`) {
				t.Errorf("%d, Retry-After %q, %s", w.Code, w.Header().Get("Retry-After"), w.Body)
			}
		})
	}
}
