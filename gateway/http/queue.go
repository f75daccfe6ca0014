package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ingo-grader/ingo/internal/jobjson"
	"github.com/ingo-grader/ingo/messages"
)

// queueJSON is GET /api/v1/queue (jobjson.Queue, shared with ingo queue
// --json). A frontend's lists hold its own jobs only, and its summary's
// counts its own courses (the totals are of every job).
type queueJSON = jobjson.Queue

// queueFor is the snapshot as p may see it; course is a frontend's
// ?course=, applied here (frontendCourse).
func (s *Server) queueFor(p principal, q *messages.BackendGetQueue, course string, now time.Time) queueJSON {
	if p.admin() {
		return jobjson.NewQueue(q, now, nil)
	}
	// What an earlier process of this API submitted for this token's name
	// is its own too, though this one has not adopted it yet: the launcher
	// names the owner (a course filter cannot be told from the snapshot,
	// which has no course).
	ids := make([]string, 0, len(q.JobsRunning)+len(q.JobsWaiting))
	var launched []string
	see := func(id string, ours bool, launcher string) {
		ids = append(ids, id)
		if course == "" && s.launcherOwner(ours, launcher) == p.owner() {
			launched = append(launched, id)
		}
	}
	for _, j := range q.JobsRunning {
		see(j.JobID, j.IsMine, j.Launcher)
	}
	for _, j := range q.JobsWaiting {
		see(j.JobID, j.IsMine, j.Launcher)
	}
	visible := s.store.visible(ids, p, course)
	for _, id := range launched {
		visible[id] = true
	}
	out := jobjson.NewQueue(q, now, func(id string) bool { return visible[id] })
	// Which other courses have jobs is not a frontend's business: it
	// sees the counts of its own, those the backend keys by its name
	// (submit: ClientNewJob.Frontend).
	own := []messages.QueueCount{}
	for _, c := range out.Summary.Counts {
		if c.ClientID == s.client.ID() && c.Frontend == p.name && (course == "" || c.CourseID == course) {
			// The API's client id (by default its host's name) is
			// not the frontend's to know; its own name it knows.
			c.ClientID, c.Frontend = "", ""
			own = append(own, c)
		}
	}
	out.Summary.Counts = own
	return out
}

// frontendCourse takes a frontend token's course filter out of a request
// to the backend and returns it, for the API to apply to what the token
// may see: asked of the backend, it would count and page another
// course's jobs (totals, cursors), and which courses have jobs is not a
// frontend's business. An admin's stays in the request ("" returned).
func frontendCourse(p principal, course *string) string {
	if p.admin() {
		return ""
	}
	c := *course
	*course = ""
	return c
}

// getQueue is the snapshot, or with any of ?limit, ?cursor, ?environment
// (TYPE or TYPE/NAME) and ?course one page of every job
// (messages.ClientGetQueue; ?limit defaults to the largest page). A
// frontend token's page holds its own jobs among the API's: it may hold
// fewer than ?limit, even none, before the last; follow next_cursor until
// it is absent.
func (s *Server) getQueue(w http.ResponseWriter, r *http.Request) {
	req, paged, err := queueRequest(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	p := who(r)
	course := frontendCourse(p, &req.CourseID)
	var q *messages.BackendGetQueue
	if paged {
		done, terr := s.paged.take(p.owner(), time.Now())
		if terr != nil {
			fail(w, terr)
			return
		}
		q, err = s.client.QueryQueue(r.Context(), req)
		done()
	} else {
		q, err = s.queue(r.Context())
	}
	if err != nil {
		fail(w, err)
		return
	}
	out := s.queueFor(p, q, course, time.Now())
	if q.Next != nil {
		out.NextCursor = q.Next.String()
	}
	writeJSON(w, http.StatusOK, out)
}

// queueRequest reads the paging parameters; paged says whether any was
// given.
func queueRequest(v url.Values) (messages.ClientGetQueue, bool, error) {
	var req messages.ClientGetQueue
	if !v.Has("limit") && !v.Has("cursor") && !v.Has("environment") && !v.Has("course") {
		return req, false, nil
	}
	req.Limit = messages.MaxQueuePage
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return req, true, fmt.Errorf("limit %q is not a number from 1 to %d", l, messages.MaxQueuePage)
		}
		req.Limit = n
	}
	if c := v.Get("cursor"); c != "" {
		after, err := messages.ParseQueueCursor(c)
		if err != nil {
			return req, true, err
		}
		req.After = after
	}
	req.EnvironmentType, req.Environment, _ = strings.Cut(v.Get("environment"), "/")
	req.CourseID = v.Get("course")
	if err := req.Validate(); err != nil {
		return req, true, err
	}
	return req, true, nil
}

// queueEvents sends the snapshot at once, then again whenever it changes
// (the backend is asked every second). Times that move by themselves
// (elapsed, an agent's last_seen) do not count as a change.
func (s *Server) queueEvents(w http.ResponseWriter, r *http.Request) {
	sse, closeSSE, ok := s.openSSE(w)
	if !ok {
		return
	}
	defer closeSSE()
	poll := time.NewTicker(queuePoll)
	defer poll.Stop()
	var lastKey []byte
	lastWrite := time.Now()
	for {
		if q, err := s.queue(r.Context()); err == nil {
			out := s.queueFor(who(r), q, "", time.Now())
			data, _ := json.Marshal(out)
			if key := changeKey(out); !bytes.Equal(key, lastKey) {
				lastKey = key
				sse.event("", "queue", data)
				lastWrite = time.Now()
			}
		} else {
			s.log.Debug("queue stream: no snapshot", "err", err)
		}
		if time.Since(lastWrite) >= keepAlive {
			sse.comment("keep-alive")
			lastWrite = time.Now()
		}
		if sse.flush() != nil {
			return
		}
		select {
		case <-poll.C:
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		}
	}
}

// changeKey is the snapshot without the times that move on their own.
func changeKey(q queueJSON) []byte {
	c := q
	c.Running = append([]jobjson.RunningJob(nil), q.Running...)
	c.Agents = append([]messages.QueueAgent(nil), q.Agents...)
	for i := range c.Running {
		c.Running[i].Elapsed = 0
	}
	for i := range c.Agents {
		c.Agents[i].LastSeen = 0
	}
	b, _ := json.Marshal(c)
	return b
}

func (s *Server) getEnvironments(w http.ResponseWriter, r *http.Request) {
	envs := s.client.Environments()
	for k, v := range envs {
		if v == nil {
			envs[k] = []string{}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"environments": envs})
}

func (s *Server) getAgents(w http.ResponseWriter, r *http.Request) {
	q, err := s.queue(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": jobjson.NewQueue(q, time.Now(), nil).Agents})
}
