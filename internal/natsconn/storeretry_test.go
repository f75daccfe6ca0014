package natsconn

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// A create the server could not make the files of is tried again, a few
// times; any other answer is final.
func TestRetryStoreFailed(t *testing.T) {
	storeFailed := &jetstream.APIError{Code: 500, ErrorCode: errCodeStoreFailed, Description: "error creating store for stream"}
	other := &jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeBadRequest}
	for _, tt := range []struct {
		name    string
		answers []error // the last one repeats
		cancel  bool
		calls   int
		want    error
	}{
		{"made", []error{nil}, false, 1, nil},
		{"made the second time", []error{storeFailed, nil}, false, 2, nil},
		{"another error", []error{other}, false, 1, other},
		{"never", []error{storeFailed}, false, 5, storeFailed},
		{"context ended", []error{storeFailed}, true, 1, storeFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			calls := 0
			err := RetryStoreFailed(ctx, func() error {
				calls++
				return tt.answers[min(calls, len(tt.answers))-1]
			})
			if !errors.Is(err, tt.want) || calls != tt.calls {
				t.Errorf("err %v after %d calls, want %v after %d", err, calls, tt.want, tt.calls)
			}
		})
	}
}
