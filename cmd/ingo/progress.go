package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/termsafe"
	"github.com/ingo-grader/ingo/messages"
)

// progress is how `submit --wait` shows a job's life. On a terminal it
// keeps one status line up to date (position in the queue and why it
// waits, agent and elapsed time); elsewhere (a pipe, a CI log) it prints
// nothing but what the user must see (SSH credentials, DESIGN §6), so that
// scripts get a clean stderr.
type progress struct {
	w        io.Writer
	live     bool
	jobID    string
	env      string
	state    string // "submitted", "queued", "running"
	detail   string
	since    time.Time
	lastLine int // width of the line on screen, to blank it
}

func newProgress(w io.Writer, jobID, env string) *progress {
	return &progress{w: w, live: isTerminal(w), jobID: jobID, env: env, state: "submitted", since: time.Now()}
}

// isTerminal: w is a character device (a terminal), not a file or a pipe.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *progress) set(state, detail string) {
	if state != p.state {
		p.since = time.Now()
	}
	p.state, p.detail = state, detail
	p.draw()
}

// draw rewrites the status line in place.
func (p *progress) draw() {
	if !p.live {
		return
	}
	line := fmt.Sprintf("%-8s %s %s  %s", p.state, p.jobID, p.env, time.Since(p.since).Round(time.Second))
	if p.detail != "" {
		line += "  " + p.detail
	}
	line = termsafe.Line(line)
	pad := max(0, p.lastLine-len(line))
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
	p.lastLine = len(line)
}

// println prints a line that stays (the status line is redrawn below it).
func (p *progress) println(format string, args ...any) {
	if p.live && p.lastLine > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.lastLine))
		p.lastLine = 0
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

// done ends the status line with the outcome.
func (p *progress) done(status messages.Status) {
	if p.live {
		p.println("done     %s %s  %s", p.jobID, status, time.Since(p.since).Round(100*time.Millisecond))
	}
}

// waitingDetail says in words where a waiting job stands.
func waitingDetail(w messages.QueueWaitingJob) string {
	why := map[messages.WaitReason]string{
		messages.WaitNoAgent:       "no agent offers this environment yet",
		messages.WaitSlotsBusy:     "every agent slot is busy",
		messages.WaitQueued:        "jobs ahead of it",
		messages.WaitLowerPriority: "jobs of higher priority first",
	}[w.Reason]
	if why == "" {
		why = string(w.Reason)
	}
	return fmt.Sprintf("position %d (%s)", w.Position, why)
}

// follow shows the job's progress until its result arrives.
func (a *app) follow(ctx context.Context, c *frontendclient.Client, job *frontendclient.Job, req frontendclient.JobRequest) (*messages.BackendJobDone, error) {
	p := newProgress(a.stderr, job.ID(), req.EnvironmentType+"/"+req.Environment)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastPoll := time.Time{}
	for {
		select {
		case <-ctx.Done():
			p.println("")
			return nil, fmt.Errorf("stopped waiting; job %s goes on (stop it with `ingo kill %s`)", job.ID(), job.ID())
		case <-tick.C:
			if p.live && p.state == "queued" && time.Since(lastPoll) >= 2*time.Second {
				lastPoll = time.Now()
				p.set("queued", a.queuePosition(ctx, c, job.ID()))
			}
			p.draw()
		case ev, ok := <-job.Events():
			if !ok {
				p.println("")
				return nil, fmt.Errorf("job %s ended without a result: %w", job.ID(), job.Err())
			}
			switch ev.Kind {
			case frontendclient.EventQueued:
				p.set("queued", a.queuePosition(ctx, c, job.ID()))
				lastPoll = time.Now()
			case frontendclient.EventStarted:
				p.set("running", fmt.Sprintf("on agent %s (attempt %d)", ev.Started.Agent, max(ev.Started.Attempt, 1)))
			case frontendclient.EventSSH:
				s := ev.SSH
				p.println("ssh -p %d %s@%s\npassword: %s", s.Port, termsafe.Line(s.User), termsafe.Line(s.Host), termsafe.Line(s.Password))
			case frontendclient.EventDone:
				p.done(ev.Done.Result.Status)
				return ev.Done, nil
			}
		}
	}
}

// queuePosition asks the backend where the job waits; "" if it cannot say.
func (a *app) queuePosition(ctx context.Context, c *frontendclient.Client, jobID string) string {
	if !isTerminal(a.stderr) {
		return ""
	}
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	q, err := c.Queue(qctx)
	if err != nil {
		return ""
	}
	for _, w := range q.JobsWaiting {
		if w.JobID == jobID {
			return waitingDetail(w)
		}
	}
	return ""
}
