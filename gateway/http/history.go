package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/jobjson"
	"github.com/ingo-grader/ingo/messages"
)

// The API reads the backend's job history (backend/history) as one
// client: the backend shows it the jobs it submitted (an admin NATS user:
// every job). Which token submitted a job outlives this process in the
// job's launcher, which ends with " [<owner>]" (tagOwner): the API sets
// that tail last, after the submitter's free text.

const ownerOpen, ownerClose = " [", "]"

func tagOwner(launcher string, p principal) string {
	return launcher + ownerOpen + p.owner() + ownerClose
}

// recordOwner is the owner of a history record the API submitted, "" for
// others' (the CLI's, another frontend library's).
func (s *Server) recordOwner(r *messages.JobRecord) string {
	return s.launcherOwner(r.ClientID == s.client.ID(), r.Launcher)
}

// launcherOwner is the owner a launcher's tail names, when ours (this
// client submitted the job); else "".
func (s *Server) launcherOwner(ours bool, launcher string) string {
	if !ours || !strings.HasSuffix(launcher, ownerClose) {
		return ""
	}
	i := strings.LastIndex(launcher, ownerOpen)
	if i < 0 {
		return ""
	}
	return launcher[i+len(ownerOpen) : len(launcher)-len(ownerClose)]
}

// fromHistory finds a finished job in the history; ok false when it is
// not there or p may not see it.
func (s *Server) fromHistory(r *http.Request, p principal, id string) (v json.RawMessage, ok bool, err error) {
	if messages.ValidateID(id) != nil {
		return nil, false, nil
	}
	release, err := s.historyTurns.take(p.owner())
	defer release()
	if err != nil {
		return nil, false, err
	}
	rec, err := s.client.HistoryJob(r.Context(), id)
	switch {
	case errors.Is(err, frontendclient.ErrNotInHistory), errors.Is(err, frontendclient.ErrNoHistory),
		errors.Is(err, frontendclient.ErrNoAnswer):
		return nil, false, nil // an older backend, or not durable: as before the history
	case err != nil:
		return nil, false, err
	case !p.canSee(s.recordOwner(rec)):
		return nil, false, nil
	}
	out := jobjson.NewRecord(rec)
	res, err := json.Marshal(out.Result)
	if err != nil {
		return nil, false, err
	}
	data, err := json.Marshal(map[string]any{
		"job_id": rec.JobID, "status": statusDone, "submitted_at": out.SubmittedAt, "started_at": out.StartedAt,
		"agent": rec.Agent, "attempt": rec.Attempts, "result": json.RawMessage(res), "record": out,
	})
	return data, err == nil, err
}

// sees says whether p may see the history's record rec, and of course
// when it is not "" (a frontend's ?course=, applied here: frontendCourse).
func (s *Server) sees(p principal, rec *messages.JobRecord, course string) bool {
	return p.canSee(s.recordOwner(rec)) && (course == "" || rec.CourseID == course)
}

// listJobs is GET /api/v1/jobs: a page of the history, newest first. A
// frontend token lists its own jobs: the page is filtered here, so it may
// hold fewer than limit jobs while next says there are more.
func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	p := who(r)
	q, err := historyQuery(r)
	if err != nil {
		fail(w, errf(http.StatusBadRequest, "bad_query", err.Error()))
		return
	}
	course := frontendCourse(p, &q.CourseID)
	release, err := s.historyTurns.take(p.owner())
	defer release()
	if err != nil {
		fail(w, err)
		return
	}
	jobs, next, err := s.client.History(r.Context(), q)
	if err != nil {
		fail(w, err)
		return
	}
	out := []jobjson.Record{}
	for i := range jobs {
		if s.sees(p, &jobs[i], course) {
			out = append(out, jobjson.NewRecord(&jobs[i]))
		}
	}
	var cursor *string
	if next != 0 {
		c := strconv.FormatUint(next, 10)
		cursor = &c
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": out, "next": cursor})
}

// historyQuery reads ?course= &status= &since= &until= &limit= &cursor=;
// since and until are RFC 3339 times or durations back from now (2h).
func historyQuery(r *http.Request) (messages.ClientGetHistory, error) {
	v := r.URL.Query()
	q := messages.ClientGetHistory{CourseID: v.Get("course"), Status: messages.Status(v.Get("status"))}
	var err error
	for _, t := range []struct {
		key string
		to  *int64
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if s := v.Get(t.key); s != "" {
			if *t.to, err = parseWhen(s); err != nil {
				return q, errors.New(t.key + ": give an RFC 3339 time or a duration such as 2h")
			}
		}
	}
	if s := v.Get("limit"); s != "" {
		if q.Limit, err = strconv.Atoi(s); err != nil {
			return q, errors.New("limit: give a number")
		}
	}
	if s := v.Get("cursor"); s != "" {
		if q.Cursor, err = strconv.ParseUint(s, 10, 64); err != nil {
			return q, errors.New("cursor: give the next of the previous page")
		}
	}
	return q, q.Validate()
}

func parseWhen(s string) (int64, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d).UnixMilli(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	return t.UnixMilli(), err
}
