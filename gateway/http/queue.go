package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// queueJSON is GET /api/v1/queue: the backend's snapshot, lists in
// dispatch order, never null. A frontend's lists hold its own jobs only;
// the counts are of every job.
type queueJSON struct {
	Running      []runningJSON              `json:"running"`
	Waiting      []messages.QueueWaitingJob `json:"waiting"`
	Agents       []messages.QueueAgent      `json:"agents"`
	RunningCount int                        `json:"running_count"`
	WaitingCount int                        `json:"waiting_count"`
	// Summary counts every job by environment and course; the lists stop
	// at the backend's bound (Summary.Truncated).
	Summary messages.QueueSummary `json:"summary"`
	// NextCursor, on a page (?limit, ?cursor, ?environment, ?course), is
	// the ?cursor of the next one; absent on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// runningJSON adds the seconds since the job started, so that a page need
// not trust its own clock against the backend's.
type runningJSON struct {
	messages.QueueRunningJob
	Elapsed float64 `json:"elapsed"`
}

// queueFor is the snapshot as p may see it.
func (s *Server) queueFor(p principal, q *messages.BackendGetQueue, now time.Time) queueJSON {
	out := queueJSON{
		Running:      make([]runningJSON, 0, len(q.JobsRunning)),
		Waiting:      make([]messages.QueueWaitingJob, 0, len(q.JobsWaiting)),
		Agents:       agentsJSON(q.Agents),
		RunningCount: len(q.JobsRunning),
		WaitingCount: len(q.JobsWaiting),
		Summary:      messages.QueueSummary{Counts: []messages.QueueCount{}},
	}
	if q.Summary != nil {
		out.Summary = *q.Summary
		out.RunningCount, out.WaitingCount = q.Summary.Running, q.Summary.Waiting
		if out.Summary.Counts == nil {
			out.Summary.Counts = []messages.QueueCount{}
		}
	}
	visible := func(string) bool { return true }
	if !p.admin() {
		// Which courses have jobs is not a frontend's business.
		out.Summary.Counts = []messages.QueueCount{}
		ids := make([]string, 0, len(q.JobsRunning)+len(q.JobsWaiting))
		for _, j := range q.JobsRunning {
			ids = append(ids, j.JobID)
		}
		for _, j := range q.JobsWaiting {
			ids = append(ids, j.JobID)
		}
		owners := s.store.owners(ids)
		visible = func(id string) bool { o, ok := owners[id]; return ok && p.canSee(o) }
	}
	for _, j := range q.JobsRunning {
		if visible(j.JobID) {
			e := math.Max(0, float64(now.UnixMilli()-j.StartedAt)/1000)
			out.Running = append(out.Running, runningJSON{QueueRunningJob: j, Elapsed: math.Round(e*10) / 10})
		}
	}
	for _, j := range q.JobsWaiting {
		if visible(j.JobID) {
			out.Waiting = append(out.Waiting, j)
		}
	}
	return out
}

func agentsJSON(in []messages.QueueAgent) []messages.QueueAgent {
	out := make([]messages.QueueAgent, 0, len(in))
	for _, a := range in {
		if a.Environments == nil {
			a.Environments = []string{}
		}
		out = append(out, a)
	}
	return out
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
	var q *messages.BackendGetQueue
	if paged {
		q, err = s.client.QueryQueue(r.Context(), req)
	} else {
		q, err = s.client.Queue(r.Context())
	}
	if err != nil {
		fail(w, err)
		return
	}
	out := s.queueFor(who(r), q, time.Now())
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
		if q, err := s.client.Queue(r.Context()); err == nil {
			out := s.queueFor(who(r), q, time.Now())
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
	c.Running = append([]runningJSON(nil), q.Running...)
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
	q, err := s.client.Queue(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": agentsJSON(q.Agents)})
}
