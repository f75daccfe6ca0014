package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// What a request body may cost in memory (DESIGN.md §8: sizes are checked
// before allocation).
//
//   - A submission's inputs travel in one NATS message, so the JSON body,
//     the "job" part and the file parts are read against the size of one
//     message (jobLimit), counting as they go: the answer at the limit is
//     413 naming it, before the rest is read. File parts are spooled to
//     disk first and read back whole once their size is known.
//   - Task archives go to disk (bounded by MaxBody and bundle's limits);
//     packing the folder into a bundle holds the archive in memory.
//   - A body is read only once it has reserved memoryPerByte times its
//     Content-Length (MaxBody when not given) of Options.UploadMemory:
//     what turning it into a job may take (the body or its decoded
//     inputs, the encoded message, its check, the client's copy), and at
//     most half of UploadMemory: one token's requests together hold no
//     more than that, so another token always finds room (uploadBudget).
//     Others wait, unread, at most Options.UploadWait, then get 503 with
//     Retry-After. A body over an eighth of UploadMemory reserves less
//     than four times its size, so two such bodies of two tokens are read
//     at once: the requests being read hold at most two such bodies' cost
//     (a task archive's bundle, a submission's one message, each about
//     what its body brings) or UploadMemory, whichever is more, however
//     many arrive at once. TestConcurrentUploadsMemory measures one
//     token's.

// memoryPerByte is what a request may cost per byte of body, at most.
const memoryPerByte = 4

// bodyStall is how long a body being read under a reservation may send
// nothing: a client that announced 64 MiB and then sent nothing held the
// whole of UploadMemory, and every other frontend's submission waited
// behind it for as long as it liked.
var bodyStall = 30 * time.Second

// bodyGrace is how far a body may fall behind Options.UploadMinRate
// (TCP's slow start, a proxy's buffering). Without a bound on the whole
// body, a client that sent a byte every 20 s never stalled for
// bodyStall, and held its reservation for years.
var bodyGrace = 30 * time.Second

// reserveUpload waits for r's share of UploadMemory (uploadBudget, at
// most Options.UploadWait); release gives it back. The body then has to
// keep coming (bodyGuard): a read that waits bodyStall for a byte fails,
// and so does one that finds the body more than bodyGrace behind
// Options.UploadMinRate; the request fails with it. So a reservation is
// held while the body is read for bodyGrace + MaxBody/UploadMinRate at
// most.
func (s *Server) reserveUpload(w http.ResponseWriter, r *http.Request) (release func(), err error) {
	n := r.ContentLength
	if n < 0 || n > s.opts.MaxBody {
		n = s.opts.MaxBody
	}
	release, err = s.uploads.reserve(r.Context(), who(r).owner(), memoryPerByte*n, s.opts.UploadWait)
	if err != nil {
		// The client gave up, the server stops, or others hold the
		// memory: not an internal error, and worth a retry.
		return release, gaveUpWaiting("uploads to finish", err, s.opts.UploadWait)
	}
	r.Body = &bodyGuard{ReadCloser: r.Body, rc: http.NewResponseController(w), start: time.Now(), rate: s.opts.UploadMinRate}
	return release, nil
}

// gaveUpWaiting is the 503 busy of a request that waited its turn for
// others (uploads, decoding, task.yaml parses) until err: not an internal
// error, and worth a retry after retryAfter.
func gaveUpWaiting(others string, err error, retryAfter time.Duration) *httpError {
	e := errf(http.StatusServiceUnavailable, "busy", "gave up waiting for other "+others+": "+err.Error()+"; try again later")
	e.retryAfter = retryAfter
	return e
}

// bodyGuard sets the connection's read deadline before each read of the
// body: bodyStall ahead, or sooner when the body is due by then at rate
// bytes a second (after bodyGrace).
type bodyGuard struct {
	io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	rate  int64
	read  int64
}

// due is when the body must have brought one byte more than it has.
func (g *bodyGuard) due() time.Time {
	return g.start.Add(bodyGrace + time.Duration(float64(g.read+1)/float64(g.rate)*float64(time.Second)))
}

func (g *bodyGuard) Read(p []byte) (int, error) {
	now := time.Now()
	due := g.due()
	if !now.Before(due) {
		return 0, g.tooSlow()
	}
	deadline := now.Add(bodyStall)
	if due.Before(deadline) {
		deadline = due
	}
	_ = g.rc.SetReadDeadline(deadline) // unsupported: no guard, as before
	n, err := g.ReadCloser.Read(p)
	g.read += int64(n)
	if errors.Is(err, io.EOF) {
		// The body is in: the handler's work after it (unpacking,
		// storing in NATS) is not the client's to hurry, and net/http's
		// read behind the handler would take a deadline for a hang-up.
		_ = g.rc.SetReadDeadline(time.Time{})
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		if !time.Now().Before(due) {
			return n, g.tooSlow()
		}
		return n, errf(http.StatusRequestTimeout, "body_timeout",
			fmt.Sprintf("the body sent nothing for %s; the request was cut", bodyStall))
	}
	return n, err
}

func (g *bodyGuard) tooSlow() error {
	return errf(http.StatusRequestTimeout, "body_timeout",
		fmt.Sprintf("the body came slower than %s a second (api.upload-min-rate; %s after %s): the request was cut, to give its share of the upload memory back",
			formatBytes(g.rate), formatBytes(g.read), time.Since(g.start).Round(time.Millisecond)))
}

// jobLimit is the largest encoded job: one NATS message (max_payload of
// the server we are connected to), at most messages.MaxMessageSize.
func (s *Server) jobLimit() int64 {
	limit := int64(messages.MaxMessageSize)
	if s.nc == nil { // the parser's fuzz test
		return limit
	}
	if mp := s.nc.MaxPayload(); mp > 0 && mp < limit {
		limit = mp
	}
	return limit
}

// jsonLimit bounds a JSON body or "job" part: the job's limit, with room
// for base64 (4/3) and the JSON around it.
func (s *Server) jsonLimit() int64 {
	l := s.jobLimit()
	return l + l/3 + 64<<10
}

// tooLarge is the 413 of a part of the body over its limit.
func tooLarge(what string, limit int64, hint string) *httpError {
	return errf(http.StatusRequestEntityTooLarge, "too_large",
		fmt.Sprintf("%s is over its limit of %s; %s", what, formatBytes(limit), hint))
}

// limitedReader reads at most limit bytes of r and then fails with err,
// so that a decoder stops at the limit with an answer that names it.
type limitedReader struct {
	r    io.Reader
	left int64
	err  error
}

func limitReader(r io.Reader, limit int64, err error) *limitedReader {
	return &limitedReader{r: r, left: limit, err: err}
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more says whether the input really goes on.
		var b [1]byte
		if n, _ := l.r.Read(b[:]); n > 0 {
			return 0, l.err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// checkWire encodes m and decodes it as the backend will, so that a job
// over the size of one message or over the decoder's bounds (items,
// nesting, UTF-8) is refused here with what is wrong, rather than dropped
// by the backend and answered with a timeout.
func (s *Server) checkWire(m *messages.ClientNewJob) (size int64, err error) {
	wire, err := messages.Encode(m)
	if err != nil {
		return 0, errf(http.StatusBadRequest, "invalid_job", "the job cannot be encoded: "+err.Error())
	}
	if limit := s.jobLimit(); int64(len(wire)) > limit {
		return 0, tooLarge(fmt.Sprintf("the job (%s encoded)", formatBytes(int64(len(wire)))), limit,
			"that is one NATS message (max_payload): put large files in the task folder, or ask the operator to raise max_payload")
	}
	if _, err := messages.Decode(wire); err != nil {
		return 0, errf(http.StatusBadRequest, "invalid_job", "the job is over the wire format's bounds ("+err.Error()+"); see docs/api.md")
	}
	return int64(len(wire)), nil
}
