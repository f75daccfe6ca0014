package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

func unknownJob(id string) *httpError {
	return errf(http.StatusNotFound, "unknown_job",
		fmt.Sprintf("no job %q: it was never submitted, or it finished long enough ago to be forgotten", id))
}

// getJob answers a job's status and, once done, its result. A job this
// API process did not submit is looked up in the backend's queue, then
// in the history: every job for admins, for a frontend the jobs its
// token's name submitted, through an earlier process of this API too
// (their launcher says so, as the history's records do). The queue
// first: after a restart at a deadline most such polls are of waiting
// jobs, which the shared snapshot answers, where each history lookup is
// a round trip of the token name's few at a time (503 busy past them).
func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p := who(r)
	if v, owner, ok, fresh := s.store.viewFresh(id); ok && p.canSee(owner) {
		if !fresh {
			writeJSON(w, http.StatusOK, s.adoptedView(r, p, v))
		} else {
			writeJSON(w, http.StatusOK, v)
		}
		return
	}
	v, mine, owner, qerr := s.fromQueue(r, id)
	if qerr == nil && p.canSee(owner) {
		if mine && owner != "" {
			s.adopt(v, owner) // its result, when it comes, is then its owner's
		}
		writeJSON(w, http.StatusOK, v)
		return
	}
	hv, ok, err := s.fromHistory(r, p, id)
	switch {
	case err == nil && ok:
		writeJSON(w, http.StatusOK, hv)
	case err != nil:
		fail(w, err)
	case qerr != nil && !isUnknownJob(qerr):
		fail(w, qerr) // the queue could not say (throttled, no answer): not "never submitted"
	default:
		fail(w, unknownJob(id))
	}
}

// isUnknownJob says whether err is unknownJob's.
func isUnknownJob(err error) bool {
	var he *httpError
	return errors.As(err, &he) && he.code == "unknown_job"
}

// adoptedView is what the API can say of a job an earlier process of it
// submitted, adopted (Server.adopt) and not done here yet, whose store
// view is v: the queue's, where the job is still queued or running (the
// shared snapshot: no history turn, which a poll of a running job did not
// need before the restart either); v itself where the snapshot leaves
// jobs out (a deadline's queue), as OnStarted and OnResult keep it up to
// date, rather than a lookup for every poll; else the history's, where it
// has finished and its result has not reached this process yet; else, the
// result on its way or the history out of reach, v itself rather than
// "never submitted", which would have its frontend submit it again.
func (s *Server) adoptedView(r *http.Request, p principal, v jobView) any {
	q, err := s.queue(r.Context())
	if err == nil {
		if qv, _, owner, ok := s.findQueued(q, v.JobID); ok && p.canSee(owner) {
			return qv
		}
		if q.Summary != nil && q.Summary.Truncated {
			return v
		}
	}
	if hv, ok, err := s.fromHistory(r, p, v.JobID); err == nil && ok {
		return hv
	}
	return v
}

// fromQueue finds a job in the backend's snapshot, or, when the snapshot
// leaves jobs out (a deadline's queue is longer than
// backend.queue-snapshot-jobs), by asking the backend for that one job;
// mine says that this client (in an earlier process) submitted it, owner
// for which token's name ("" when not mine, or not through a token).
func (s *Server) fromQueue(r *http.Request, id string) (v jobView, mine bool, owner string, err error) {
	if messages.ValidateID(id) != nil {
		return v, false, "", unknownJob(id)
	}
	q, err := s.queue(r.Context())
	if err != nil {
		return v, false, "", err
	}
	if v, mine, owner, ok := s.findQueued(q, id); ok {
		return v, mine, owner, nil
	}
	if q.Summary == nil || !q.Summary.Truncated {
		return v, false, "", unknownJob(id)
	}
	// One job costs the backend little wherever it waits, but a
	// token's lookups of ids it makes up would each be a round trip:
	// they have their budget (jobLookups).
	done, err := s.lookups.take(who(r).owner(), time.Now())
	if err != nil {
		return v, false, "", err
	}
	q, err = s.client.QueryQueue(r.Context(), messages.ClientGetQueue{Limit: 1, JobID: id})
	done()
	if err != nil {
		return v, false, "", err
	}
	if v, mine, owner, ok := s.findQueued(q, id); ok {
		return v, mine, owner, nil
	}
	return v, false, "", unknownJob(id)
}

// findQueued looks for id among q's jobs.
func (s *Server) findQueued(q *messages.BackendGetQueue, id string) (v jobView, mine bool, owner string, ok bool) {
	for _, j := range q.JobsRunning {
		if j.JobID == id {
			started := time.UnixMilli(j.StartedAt).UTC()
			return jobView{JobID: id, Status: statusRunning, SubmittedAt: started, StartedAt: &started,
				Agent: j.Agent, Attempt: j.Attempt, Result: []byte("null")}, j.IsMine, s.launcherOwner(j.IsMine, j.Launcher), true
		}
	}
	for _, j := range q.JobsWaiting {
		if j.JobID == id {
			return jobView{JobID: id, Status: statusQueued, SubmittedAt: time.UnixMilli(j.QueuedAt).UTC(),
				Attempt: j.Attempt, Result: []byte("null")}, j.IsMine, s.launcherOwner(j.IsMine, j.Launcher), true
		}
	}
	return v, false, "", false
}

// deleteJob kills a job: 202 when the backend took the kill (the killed
// result follows as the job's one result), 404 for an unknown job, 409 for
// a finished one.
// A frontend kills its own jobs only (those an earlier process of this
// API took too, found in the queue); others' are unknown to it.
func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if messages.ValidateID(id) != nil {
		fail(w, unknownJob(id))
		return
	}
	if p := who(r); !p.admin() {
		if _, owner, ok := s.store.view(id); !ok || !p.canSee(owner) {
			v, _, owner, err := s.fromQueue(r, id)
			if err == nil && !p.canSee(owner) {
				err = unknownJob(id)
			}
			if err != nil {
				fail(w, err)
				return
			}
			s.adopt(v, owner) // the killed result is then its owner's

		}
	}
	finished := func() error {
		return errf(http.StatusConflict, "already_finished", "job "+id+" has finished already; its result is at GET /api/v1/jobs/"+id)
	}
	if _, done := s.store.has(id); done {
		fail(w, finished())
		return
	}
	err := s.client.KillJob(r.Context(), id)
	s.snaps.stale()
	var me *messages.Error
	if errors.As(err, &me) && me.Code == messages.CodeUnknownJob {
		// The backend says "unknown or finished": the store tells which,
		// for the jobs the API knows.
		if known, _ := s.store.has(id); known {
			err = finished()
		} else {
			err = unknownJob(id)
		}
	}
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": id})
}

// jobEvents streams a job's events: those so far at once (a late
// subscriber gets done at once), then each as it comes, until done.
func (s *Server) jobEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p := who(r)
	rec, owner := s.store.record(id)
	if rec != nil && !p.canSee(owner) {
		// A result that reached this process for a job an earlier one
		// took has no owner here: the history's record names it.
		if _, ok, err := s.fromHistory(r, p, id); owner != "" || err != nil || !ok {
			fail(w, unknownJob(id))
			return
		}
	}
	if rec == nil {
		v, mine, owner, err := s.fromQueue(r, id)
		switch {
		case err == nil && !p.canSee(owner):
			err = unknownJob(id)
		case err == nil && !mine:
			err = errf(http.StatusNotFound, "unknown_job",
				"job "+id+" was not submitted through this API, so its events do not come here; poll GET /api/v1/jobs/"+id)
		}
		if err != nil {
			fail(w, err)
			return
		}
		rec = s.adopt(v, owner)
	}
	sse, closeSSE, ok := s.openSSE(w)
	if !ok {
		return
	}
	defer closeSSE()
	from := 0
	if n, err := strconv.Atoi(r.Header.Get("Last-Event-ID")); err == nil && n >= 0 {
		// Resume after the last event the client saw. A job has at most
		// maxProgressEvents and done: a larger id is after all of them
		// (before, the largest int wrapped around to a negative index,
		// a panic and its stack in the log for each such request).
		from = min(n, maxProgressEvents+1) + 1
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		evs, done, wake := s.store.read(rec, from)
		for i, e := range evs {
			if e.name == "ssh" && !p.admin() {
				// SSH credentials open a shell in the job's container:
				// for staff only (a frontend cannot ask for SSH anyway).
				sse.comment("ssh credentials withheld: they need an admin token")
				continue
			}
			sse.event(strconv.Itoa(from+i), e.name, e.data)
		}
		from += len(evs)
		if sse.flush() != nil || done {
			return
		}
		select {
		case <-wake:
		case <-tick.C:
			sse.comment("keep-alive")
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		}
	}
}

// adopt takes into the store a job of ours that an earlier API process
// submitted for owner: its result comes through OnResult, its progress
// from the snapshot (the backend sends later events to the submitter
// only).
func (s *Server) adopt(v jobView, owner string) *record {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	if r := st.jobs[v.JobID]; r != nil {
		return r
	}
	r := st.addLocked(v.JobID, v.SubmittedAt)
	r.owner, r.adopted = owner, true
	st.appendLocked(r, "queued", map[string]string{"job_id": v.JobID})
	if v.Status == statusRunning {
		r.status, r.startedAt, r.agent, r.attempt = statusRunning, *v.StartedAt, v.Agent, max(v.Attempt, 1)
		st.appendLocked(r, "started", startedEvent{JobID: v.JobID, Agent: v.Agent, Attempt: r.attempt})
	}
	return r
}
