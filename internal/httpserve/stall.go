package httpserve

import (
	"net/http"
	"time"
)

// stallGuard gives every response write of h stall to be taken by the
// client (see the package doc). net/http clears an HTTP/1 connection's
// write deadline after each request, so the next one on it starts with
// none.
func stallGuard(h http.Handler, stall time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&stallWriter{ResponseWriter: w, rc: http.NewResponseController(w), stall: stall}, r)
	})
}

// stallWriter pushes its deadline forward before each write. It passes on
// Flush, and Unwrap lets http.ResponseController reach the writer below.
type stallWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
}

func (w *stallWriter) push() { _ = w.rc.SetWriteDeadline(time.Now().Add(w.stall)) }

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
