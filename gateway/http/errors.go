package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/messages"
)

// errorBody is every error answer: {"error": {"code", "message"}}. Code is
// for programs (snake_case, stable), message for people (what to do).
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// httpError is an error that knows its answer.
type httpError struct {
	status  int
	code    string
	message string
	// retryAfter, when set, is sent as Retry-After (whole seconds, at
	// least 1): a client told when to come back does not hammer.
	retryAfter time.Duration
}

func (e *httpError) Error() string { return e.code + ": " + e.message }

func errf(status int, code, message string) *httpError {
	return &httpError{status: status, code: code, message: message}
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	// Feedback is often HTML: keep <, > and & as they are.
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away: nothing to do
}

// fail answers err: an *httpError as it says, a body over MaxBody with 413,
// the backend's refusals and the client's errors with their fitting codes.
func fail(w http.ResponseWriter, err error) {
	var he *httpError
	var me *messages.Error
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		if he.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(max(time.Second, he.retryAfter.Round(time.Second))/time.Second)))
		}
		writeError(w, he.status, he.code, he.message)
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "body_too_large",
			"the request body is over the API's limit of "+formatBytes(tooBig.Limit)+
				"; put large files in the task folder, or ask the operator to raise api.max-body")
	case errors.As(err, &me):
		status, code := backendError(me.Code)
		if me.Code == messages.CodeThrottled {
			w.Header().Set("Retry-After", "1") // as the text says
		}
		writeError(w, status, code, me.Error())
	case errors.Is(err, frontendclient.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "job_too_large", err.Error())
	case errors.Is(err, frontendclient.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
	case errors.Is(err, frontendclient.ErrNoHistory):
		writeError(w, http.StatusServiceUnavailable, "history_unavailable", err.Error())
	case errors.Is(err, frontendclient.ErrNoAnswer):
		writeError(w, http.StatusGatewayTimeout, "backend_timeout", err.Error()+"; try again later")
	case errors.Is(err, frontendclient.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "shutting_down", "the API is stopping; try again in a moment")
	default:
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
	}
}

// backendError maps a refusal by the backend to an HTTP status.
func backendError(c messages.ErrorCode) (int, string) {
	switch c {
	case messages.CodeDuplicateJob:
		return http.StatusConflict, string(c)
	case messages.CodeUnknownJob:
		return http.StatusNotFound, string(c)
	case messages.CodeUnavailable, messages.CodeThrottled:
		return http.StatusServiceUnavailable, string(c)
	case messages.CodeBadRequest:
		return http.StatusBadRequest, string(c)
	case messages.CodeQueueFull:
		return http.StatusTooManyRequests, string(c)
	}
	return http.StatusBadGateway, string(c)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return itoa(n>>10) + " KiB"
	}
	return itoa(n) + " bytes"
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func sortedStrings(s []string) []string {
	slices.Sort(s)
	return s
}
