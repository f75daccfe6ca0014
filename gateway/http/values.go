package api

import (
	"net/http"
	"time"
)

// valuesBudget bounds the JSON values of the job bodies decoded at once,
// and their messages built from them: two jobs at the bound, any number
// of usual ones (tens of values). The upload budget counts a body's bytes
// (four times them), but two bytes of JSON ("{}") make a map, and a body
// of 1 MB of {"":{}} under an "@" input, within MaxFreeFormItems, took
// the API 120 MB: eight such submissions at once took it to 940 MB. One
// token name takes at most half of it, as of the upload budget, so that
// another always finds room.
const valuesBudget = 2 * maxJobValues

// admitValues is decodeJSON's admit for r: it reserves the values of r's
// job from Server.values, waiting at most Options.UploadWait (then 503
// busy, as for an upload), and chains their release to *cleanup, which
// the handler runs once the job is sent.
func (s *Server) admitValues(r *http.Request, cleanup *func()) func(int) error {
	return func(n int) error {
		release, err := s.values.reserve(r.Context(), who(r).owner(), int64(n), s.opts.UploadWait)
		if err != nil {
			return gaveUpWaiting("submissions to be decoded", err, max(s.opts.UploadWait, time.Second))
		}
		prev := *cleanup
		*cleanup = func() { prev(); release() }
		return nil
	}
}
