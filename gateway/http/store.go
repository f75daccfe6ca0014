package api

import (
	"container/list"
	"encoding/json"
	"sync"
	"time"

	"github.com/ingo-grader/ingo/internal/jobjson"
	"github.com/ingo-grader/ingo/messages"
)

// Job statuses of GET /api/v1/jobs/{id}.
const (
	statusQueued  = "queued"
	statusRunning = "running"
	statusDone    = "done"
)

// maxProgressEvents bounds the events kept per job before done: a job
// re-queued again and again must not grow without end.
const maxProgressEvents = 64

// recordOverhead is what a job costs besides its events and result,
// roughly: the record, the map entry, the list element.
const recordOverhead = 512

// sseEvent is one server-sent event as it goes on the wire.
type sseEvent struct {
	name string
	data []byte // JSON
}

// record is one job the API knows. Guarded by store.mu.
type record struct {
	id string
	// owner is principal.owner of the token that submitted the job, ""
	// for jobs the API did not submit in this process.
	owner string
	// adopted: a job an earlier process of this API submitted, taken in
	// from the queue's snapshot (Server.adopt). Until its result comes,
	// its status here is the snapshot's, which the backend does not
	// update: GET reads the queue again.
	adopted bool
	// course is the job's course id, for a frontend's ?course= (which the
	// API applies itself: see frontendCourse).
	course      string
	submittedAt time.Time
	startedAt   time.Time
	agent       string
	attempt     int
	status      string
	result      json.RawMessage // jobjson.Result, once done
	events      []sseEvent
	// wake is closed (and replaced) whenever an event is appended: every
	// stream waiting on it reads on.
	wake  chan struct{}
	bytes int64
	// charge is what the job counts in store.unfinished until it is
	// done or forgotten (0: nothing, an admin token's).
	charge int64
	elem   *list.Element // in store.finished once done
	// followed: a goroutine copies this job's events from its
	// frontendclient.Job, done included, so the result that OnResult also
	// gets is left to it: taken from OnResult it could overtake the
	// started event still on its way, which would then be dropped.
	followed bool
}

// store holds the jobs, bounded by limit bytes: the oldest finished jobs
// go first; the newest finished one always stays, so a result larger than
// the bound is still readable until the next one arrives.
type store struct {
	mu       sync.Mutex
	jobs     map[string]*record
	finished *list.List // *record, oldest first
	bytes    int64
	limit    int64
	// unfinished is, per owner, the charges of its jobs not done yet
	// (Options.MaxUnfinishedBytes).
	unfinished map[string]int64
	// abandoned holds the charges of submissions that went unanswered
	// (charges.go).
	abandoned map[string]abandonedCharge
	// abandonOrder is abandoned's ids, oldest first, for abandonedTTL.
	abandonOrder []abandonedAt
}

func newStore(limit int64) *store {
	return &store{jobs: map[string]*record{}, finished: list.New(), limit: limit, unfinished: map[string]int64{},
		abandoned: map[string]abandonedCharge{}}
}

// add registers a job of course the API submitted for owner, unless it
// is known already.
func (st *store) add(id, owner, course string, submittedAt time.Time) *record {
	st.mu.Lock()
	defer st.mu.Unlock()
	if r := st.jobs[id]; r != nil {
		return r // its owner stays: nobody takes over another's job
	}
	r := st.addLocked(id, submittedAt)
	r.owner, r.course = owner, course
	return r
}

func (st *store) addLocked(id string, submittedAt time.Time) *record {
	if r := st.jobs[id]; r != nil {
		return r
	}
	r := &record{id: id, submittedAt: submittedAt, status: statusQueued, wake: make(chan struct{}), bytes: recordOverhead}
	st.jobs[id] = r
	st.bytes += r.bytes
	return r
}

// appendLocked adds an event and wakes the streams.
func (st *store) appendLocked(r *record, name string, v any) {
	if name != "done" && len(r.events) >= maxProgressEvents {
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		return // our own types: cannot happen
	}
	r.events = append(r.events, sseEvent{name: name, data: data})
	n := int64(len(name) + len(data) + 32)
	r.bytes += n
	st.bytes += n
	close(r.wake)
	r.wake = make(chan struct{})
}

func (st *store) queued(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if r := st.jobs[id]; r != nil && r.status != statusDone {
		st.appendLocked(r, "queued", map[string]string{"job_id": id})
	}
}

func (st *store) started(m *messages.BackendJobStarted, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if r := st.jobs[m.JobID]; r != nil && r.status != statusDone {
		st.startLocked(r, m, now)
	}
}

func (st *store) startLocked(r *record, m *messages.BackendJobStarted, now time.Time) {
	r.status, r.startedAt, r.agent, r.attempt = statusRunning, now, m.Agent, max(m.Attempt, 1)
	st.appendLocked(r, "started", startedEvent{JobID: m.JobID, Agent: m.Agent, Attempt: r.attempt})
}

// adoptedStarted is the start of a job this process did not submit: an
// adopted job's (Server.adopt) if it was waiting, or a later attempt of
// one adopted as running (its agent was lost and another runs it now:
// without it, GET kept naming the lost agent and attempt); else nothing
// (the job is adopted as running from the snapshot when it is).
func (st *store) adoptedStarted(m *messages.BackendJobStarted, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	r := st.jobs[m.JobID]
	if r == nil || !r.adopted {
		return
	}
	if r.status == statusQueued || (r.status == statusRunning && m.Attempt > r.attempt) {
		st.startLocked(r, m, now)
	}
}

type startedEvent struct {
	JobID   string `json:"job_id"`
	Agent   string `json:"agent"`
	Attempt int    `json:"attempt"`
}

type sshEvent struct {
	JobID    string `json:"job_id"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	User     string `json:"user"`
	Password string `json:"password"`
}

func (st *store) ssh(m *messages.BackendJobSSHDebug) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if r := st.jobs[m.JobID]; r != nil && r.status != statusDone {
		st.appendLocked(r, "ssh", sshEvent{JobID: m.JobID, Host: m.Host, Port: m.Port, User: m.User, Password: m.Password})
	}
}

// stored is OnResult: it records the result unless the job's own events
// bring it (see record.followed; the client puts the result in the Job's
// events before it calls OnResult).
func (st *store) stored(m *messages.BackendJobDone, now time.Time) {
	st.mu.Lock()
	r := st.jobs[m.JobID]
	followed := r != nil && r.followed
	st.mu.Unlock()
	if !followed {
		st.done(m, now)
	}
}

// done records a result, once; a job the API does not know (submitted by
// an earlier process with our ClientID) is added with now as its time.
func (st *store) done(m *messages.BackendJobDone, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.releaseAbandonedLocked(m.JobID)
	r := st.addLocked(m.JobID, now)
	if r.status == statusDone {
		return
	}
	res, err := json.Marshal(jobjson.NewResult(m))
	if err != nil {
		return
	}
	r.status, r.result = statusDone, res
	st.dischargeLocked(r)
	r.bytes += int64(len(res))
	st.bytes += int64(len(res))
	r.events = append(r.events, sseEvent{name: "done", data: res}) // shares res
	close(r.wake)
	r.wake = make(chan struct{})
	r.elem = st.finished.PushBack(r)
	for st.bytes > st.limit && st.finished.Len() > 1 {
		old := st.finished.Remove(st.finished.Front()).(*record)
		delete(st.jobs, old.id)
		st.bytes -= old.bytes
	}
}

// jobView is GET /api/v1/jobs/{id}.
type jobView struct {
	JobID       string          `json:"job_id"`
	Status      string          `json:"status"`
	SubmittedAt time.Time       `json:"submitted_at"`
	StartedAt   *time.Time      `json:"started_at,omitempty"`
	Agent       string          `json:"agent,omitempty"`
	Attempt     int             `json:"attempt,omitempty"`
	Result      json.RawMessage `json:"result"`
}

// view returns the job and its owner.
func (st *store) view(id string) (v jobView, owner string, ok bool) {
	v, owner, ok, _ = st.viewFresh(id)
	return v, owner, ok
}

// viewFresh is view, and whether the store's status is the job's own:
// false for an adopted job not done yet.
func (st *store) viewFresh(id string) (v jobView, owner string, ok, fresh bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	r := st.jobs[id]
	if r == nil {
		return jobView{}, "", false, false
	}
	fresh = !r.adopted || r.status == statusDone
	v = jobView{JobID: id, Status: r.status, SubmittedAt: r.submittedAt, Agent: r.agent, Attempt: r.attempt, Result: r.result}
	if !r.startedAt.IsZero() {
		t := r.startedAt
		v.StartedAt = &t
	}
	if v.Result == nil {
		v.Result = json.RawMessage("null")
	}
	return v, r.owner, true, fresh
}

// visible returns which of ids p may see, of course when it is not "".
func (st *store) visible(ids []string, p principal, course string) map[string]bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		if r := st.jobs[id]; r != nil && p.canSee(r.owner) && (course == "" || r.course == course) {
			out[id] = true
		}
	}
	return out
}

// has reports whether id is known, and whether it is done.
func (st *store) has(id string) (known, done bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	r := st.jobs[id]
	return r != nil, r != nil && r.status == statusDone
}

// record returns the job's record for a stream, or nil, and its owner.
func (st *store) record(id string) (*record, string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	r := st.jobs[id]
	if r == nil {
		return nil, ""
	}
	return r, r.owner
}

// read returns the events from index from on, whether the last one is
// done, and a channel closed when more arrive.
func (st *store) read(r *record, from int) ([]sseEvent, bool, <-chan struct{}) {
	st.mu.Lock()
	defer st.mu.Unlock()
	var evs []sseEvent
	if from < len(r.events) {
		evs = r.events[from:len(r.events):len(r.events)]
	}
	return evs, r.status == statusDone, r.wake
}

func (st *store) size() (int, int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.jobs), st.bytes
}

func (st *store) setFollowed(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if r := st.jobs[id]; r != nil {
		r.followed = true
	}
}
