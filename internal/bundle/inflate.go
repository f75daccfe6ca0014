package bundle

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ErrInflated is the error of a read past an InflateBound.
var ErrInflated = errors.New("decompressed past its bound")

// InflateBound bounds what is read out of a decompression (gzip, zip, a
// tar's stream): a file's bounds (Pack's, Extract's) count what a tar
// writes, not what reading it costs. Go's tar reader follows any chain of
// PAX headers (a MiB each) and skips the data of entries it drops, and
// gzip reads any number of concatenated members, so a few hundred KiB
// unpacked to gigabytes of work that wrote nothing. The bound counts
// every byte read, headers and skipped data included, and ends with its
// context (a deadline, a job's end). The HTTP API reads uploaded task
// archives and the agents read task bundles through it. One goroutine
// reads through a bound and its readers at a time.
type InflateBound struct {
	ctx  context.Context
	max  int64
	left int64
}

// NewInflateBound allows max bytes in all, until ctx ends.
func NewInflateBound(ctx context.Context, max int64) *InflateBound {
	return &InflateBound{ctx: ctx, max: max, left: max}
}

// Reader reads r within the bound, which is shared by all its readers
// (the entries of a zip count together). A read fails with an error
// wrapping ErrInflated once the bound is spent and r still has a byte
// (a stream of exactly the bound is read whole), and with ctx's cause
// once ctx ended.
func (b *InflateBound) Reader(r io.Reader) io.Reader { return &boundReader{b: b, r: r} }

// Err is ctx's cause once it ended, else nil: for a loop that may go on
// without reading (a zip's entries without data).
func (b *InflateBound) Err() error {
	if b.ctx.Err() != nil {
		return context.Cause(b.ctx)
	}
	return nil
}

type boundReader struct {
	b *InflateBound
	r io.Reader
}

func (br *boundReader) Read(p []byte) (int, error) {
	b := br.b
	if err := b.Err(); err != nil {
		return 0, err
	}
	if b.left <= 0 {
		// One byte more says whether the stream really goes on.
		var one [1]byte
		n, err := br.r.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: more than %d bytes", ErrInflated, b.max)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := br.r.Read(p)
	b.left -= int64(n)
	return n, err
}
