package bundle

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestInflateBound(t *testing.T) {
	errLate := errors.New("too late")
	for _, tt := range []struct {
		name    string
		streams []string // read one after the other within one bound
		max     int64
		cancel  bool
		want    error
	}{
		{"under", []string{"abc"}, 4, false, nil},
		// The agent's reader refused this one before: a bundle of exactly
		// its bound.
		{"exactly the bound", []string{"abcd"}, 4, false, nil},
		{"one byte over", []string{"abcde"}, 4, false, ErrInflated},
		{"shared by two readers", []string{"abc", "de"}, 4, false, ErrInflated},
		{"two readers within", []string{"ab", "cd"}, 4, false, nil},
		{"context ended", []string{"a"}, 4, true, errLate},
		{"empty", []string{""}, 0, false, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(t.Context())
			defer cancel(nil)
			if tt.cancel {
				cancel(errLate)
			}
			b := NewInflateBound(ctx, tt.max)
			var err error
			var got bytes.Buffer
			for _, s := range tt.streams {
				// One byte per read: the bound must hold across reads.
				if _, err = io.Copy(&got, b.Reader(iotest.OneByteReader(strings.NewReader(s)))); err != nil {
					break
				}
			}
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want == nil && got.String() != strings.Join(tt.streams, "") {
				t.Errorf("read %q", got.String())
			}
			if int64(got.Len()) > tt.max {
				t.Errorf("read %d bytes past a bound of %d", got.Len(), tt.max)
			}
		})
	}
}
