package api

import (
	_ "embed"
	"fmt"
	"net/http"
	"time"

	"github.com/ingo-grader/ingo/internal/natsconn"
)

// openAPI is the API's description, kept beside the code and checked
// against the routes and the answers by openapi_test.go.
//
//go:embed openapi.json
var openAPI []byte

func (s *Server) getOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPI)
}

// healthz says the process serves HTTP; nothing else.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says the backend answers: a pong within a few ping intervals.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	window := readyPings * s.opts.PingInterval
	last := s.client.Stats().LastPong
	if last.IsZero() || time.Since(last) > window {
		msg := "the backend has not answered yet; is `ingo backend` running on this NATS?"
		if !last.IsZero() {
			msg = fmt.Sprintf("the backend last answered %v ago (more than %v); is `ingo backend` running?", time.Since(last).Round(time.Millisecond), window)
		}
		// Without NATS, the backend is not what to look at first: the
		// server may be down, or refuse the API's credentials (revoked).
		// Said in general words: /readyz answers anyone, and the error's
		// text names addresses and TLS details (the API's log has it).
		if !s.nc.IsConnected() {
			why := "is the NATS server up, and does it still admit the API's credentials (nats.creds; ingo creds makes new ones)?"
			if natsconn.Refused(s.nc.LastError()) {
				why = "the NATS server refuses the API's credentials: give it new ones (nats.creds; ingo creds makes them)."
			}
			msg = "the API is not connected to NATS: " + why + " " + msg
		}
		writeError(w, http.StatusServiceUnavailable, "backend_unreachable", msg)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
