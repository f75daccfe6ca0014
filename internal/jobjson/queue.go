package jobjson

import (
	"math"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// Queue is a queue snapshot in JSON: the one shape of `ingo queue --json`
// and GET /api/v1/queue. Lists are in dispatch order and never null.
type Queue struct {
	Running      []RunningJob               `json:"running"`
	Waiting      []messages.QueueWaitingJob `json:"waiting"`
	Agents       []messages.QueueAgent      `json:"agents"`
	RunningCount int                        `json:"running_count"`
	WaitingCount int                        `json:"waiting_count"`
	// Summary counts every job by environment and course; the lists stop
	// at the backend's bound (Summary.Truncated).
	Summary messages.QueueSummary `json:"summary"`
	// NextCursor, on a page, is where the next one starts; absent on the
	// last page and on a snapshot.
	NextCursor string `json:"next_cursor,omitempty"`
}

// RunningJob adds the seconds since the job started, so that a reader
// need not trust its own clock against the backend's.
type RunningJob struct {
	messages.QueueRunningJob
	Elapsed float64 `json:"elapsed"`
}

// NewQueue makes the JSON of q at now, listing only the jobs visible says
// may be seen (nil: all).
func NewQueue(q *messages.BackendGetQueue, now time.Time, visible func(jobID string) bool) Queue {
	out := Queue{
		Running:      make([]RunningJob, 0, len(q.JobsRunning)),
		Waiting:      make([]messages.QueueWaitingJob, 0, len(q.JobsWaiting)),
		Agents:       make([]messages.QueueAgent, 0, len(q.Agents)),
		RunningCount: len(q.JobsRunning),
		WaitingCount: len(q.JobsWaiting),
		Summary:      messages.QueueSummary{Running: len(q.JobsRunning), Waiting: len(q.JobsWaiting)},
	}
	if q.Summary != nil {
		out.Summary = *q.Summary
		out.RunningCount, out.WaitingCount = q.Summary.Running, q.Summary.Waiting
	}
	if out.Summary.Counts == nil {
		out.Summary.Counts = []messages.QueueCount{}
	}
	for _, a := range q.Agents {
		if a.Environments == nil {
			a.Environments = []string{}
		}
		out.Agents = append(out.Agents, a)
	}
	for _, j := range q.JobsRunning {
		if visible == nil || visible(j.JobID) {
			e := math.Max(0, float64(now.UnixMilli()-j.StartedAt)/1000)
			out.Running = append(out.Running, RunningJob{QueueRunningJob: j, Elapsed: math.Round(e*10) / 10})
		}
	}
	for _, j := range q.JobsWaiting {
		if visible == nil || visible(j.JobID) {
			out.Waiting = append(out.Waiting, j)
		}
	}
	return out
}
