package api

import (
	"bytes"
	"fmt"
	"net/http"
)

// sseWriter writes server-sent events (text/event-stream).
type sseWriter struct {
	w   http.ResponseWriter
	f   http.Flusher
	err error
}

// openSSE starts an event stream on w and counts it among the API's SSE
// clients until done is called; it answers 500 itself (ok false) when w
// cannot stream.
func (s *Server) openSSE(w http.ResponseWriter) (sse *sseWriter, done func(), ok bool) {
	sse, ok = startSSE(w)
	if !ok {
		fail(w, errf(http.StatusInternalServerError, "no_streaming", "this server cannot stream responses"))
		return nil, nil, false
	}
	s.stats.sseClients.Add(1)
	return sse, func() { s.stats.sseClients.Add(-1) }, true
}

func startSSE(w http.ResponseWriter) (*sseWriter, bool) {
	f, ok := w.(http.Flusher)
	if !ok {
		return nil, false
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	// nginx buffers responses unless told not to: events would arrive late.
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	f.Flush()
	return &sseWriter{w: w, f: f}, true
}

// event writes one event; data is one line of JSON (encoding/json never
// writes a newline inside a value), split defensively all the same.
func (s *sseWriter) event(id, name string, data []byte) {
	if s.err != nil {
		return
	}
	var b bytes.Buffer
	if id != "" {
		fmt.Fprintf(&b, "id: %s\n", id)
	}
	fmt.Fprintf(&b, "event: %s\n", name)
	for line := range bytes.SplitSeq(bytes.TrimRight(data, "\n"), []byte("\n")) {
		fmt.Fprintf(&b, "data: %s\n", line)
	}
	b.WriteByte('\n')
	_, s.err = s.w.Write(b.Bytes())
}

// comment writes a comment line (a keep-alive) and flushes.
func (s *sseWriter) comment(text string) {
	if s.err == nil {
		_, s.err = fmt.Fprintf(s.w, ": %s\n\n", text)
	}
	s.flush()
}

func (s *sseWriter) flush() error {
	if s.err == nil {
		s.f.Flush()
	}
	return s.err
}
