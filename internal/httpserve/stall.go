package httpserve

import (
	"context"
	"log"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// guard serves h with what the package doc says of requests: each write
// of the answer has the connection's stall to be taken by the client, and
// the requests of untrusted connections being served at once are bounded
// (one more is reset unanswered). For those, the wait for the client to
// take the last of an answer happens here too, not after h returned: a
// handler's 401 to a client that reads nothing held its request for the
// stall, past the bound (the flush makes a small HTTP/1 answer chunked).
// net/http clears an HTTP/1 connection's write deadline after each
// request, so the next starts with none.
func guard(h http.Handler, lim Limits) http.Handler {
	untrusted := make(chan struct{}, lim.maxUntrustedRequests())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lc := connOf(r.Context())
		sw := &stallWriter{ResponseWriter: w, rc: http.NewResponseController(w), lc: lc, lim: lim}
		if lc == nil || lc.trusted.Load() {
			h.ServeHTTP(sw, r)
			return
		}
		select {
		case untrusted <- struct{}{}:
		default:
			panic(http.ErrAbortHandler) // resets the stream, or closes the connection
		}
		// Trust gives the place back at once: the first request of a
		// token holder's connection may be an event stream.
		sl := &slot{release: func() { <-untrusted }}
		defer sl.free()
		h.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), slotKey{}, sl)))
		sw.Flush() // the wait for the client, within the bound
	})
}

// slot is a request's place among the untrusted ones being served.
type slot struct {
	once    sync.Once
	release func()
}

func (s *slot) free() { s.once.Do(s.release) }

type slotKey struct{}

// stallWriter pushes its deadline forward before each write. It passes on
// Flush, and Unwrap lets http.ResponseController reach the writer below.
type stallWriter struct {
	http.ResponseWriter
	rc  *http.ResponseController
	lc  *limitedConn // nil: not served by Serve's listener
	lim Limits
}

func (w *stallWriter) push() {
	stall := w.lim.WriteStall
	if w.lc != nil && !w.lc.trusted.Load() {
		stall = w.lim.UntrustedStall
	}
	_ = w.rc.SetWriteDeadline(time.Now().Add(stall))
}

func (w *stallWriter) WriteHeader(code int) {
	w.push()
	w.ResponseWriter.WriteHeader(code)
}

func (w *stallWriter) Write(p []byte) (int, error) {
	w.push()
	return w.ResponseWriter.Write(p)
}

func (w *stallWriter) Flush() {
	w.push()
	_ = w.rc.Flush()
}

func (w *stallWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// errorLog is net/http's error log: failed TLS handshakes, which anyone
// causes at will, go to noisy (rate-limited), the rest (a handler's
// panic, an accept error) to log.
func errorLog(l, noisy *slog.Logger) *log.Logger {
	return log.New(errorLines{log: l, noisy: noisy}, "", 0)
}

type errorLines struct{ log, noisy *slog.Logger }

func (e errorLines) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	if strings.Contains(line, "TLS handshake error") {
		e.noisy.Warn(line)
	} else {
		e.log.Warn(line)
	}
	return len(p), nil
}
