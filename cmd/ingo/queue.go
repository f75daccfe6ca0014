package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ingo-grader/ingo/internal/jobjson"
	"github.com/ingo-grader/ingo/internal/termsafe"
	"github.com/ingo-grader/ingo/messages"
)

func newQueueCmd(a *app) *cobra.Command {
	var asJSON, watch, all bool
	var every time.Duration
	var o pageOpts
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "Show running and waiting jobs",
		Long: `Show the backend's queue: the counts of running and waiting jobs per
environment and course, the running jobs with their agent, then the head of
each queue: per environment, its first --head waiting jobs in the order they
will run, with their position in that queue and the reason each waits.

--all lists every job instead, a page at a time (--limit jobs each, 1,000 at
most): running jobs by start, then waiting jobs by environment, priority and
arrival (not placed in the dispatch order: POS is "-"), optionally of one
--env (TYPE or TYPE/NAME) and --course. A job that stays where it is while the
pages are read is listed exactly once; one that starts, is re-queued or
arrives meanwhile may be listed twice or not at all. With --json, --all prints
one JSON document per line per page, each with its "next" cursor (null on the
last page).

--watch shows it again every --interval until interrupted; with --json each
snapshot is one line of JSON.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if all {
				if watch {
					return fmt.Errorf("--all and --watch do not go together")
				}
				return a.runQueueAll(cmd.Context(), asJSON, o)
			}
			return a.runQueue(cmd.Context(), asJSON, watch, every, o.head)
		},
	}
	fs := cmd.Flags()
	jsonFlag(fs, &asJSON)
	fs.BoolVar(&watch, "watch", false, "show the queue again every --interval until interrupted")
	fs.DurationVar(&every, "interval", 2*time.Second, "refresh period of --watch")
	fs.BoolVar(&all, "all", false, "list every job, a page at a time")
	fs.IntVar(&o.head, "head", 5, "waiting jobs shown per environment")
	fs.IntVar(&o.limit, "limit", messages.MaxQueuePage, "jobs per page of --all")
	fs.StringVar(&o.env, "env", "", "with --all: only this environment (TYPE or TYPE/NAME)")
	fs.StringVar(&o.course, "course", "", "with --all: only this course")
	return cmd
}

func (a *app) runQueue(ctx context.Context, asJSON, watch bool, every time.Duration, head int) error {
	if every <= 0 {
		return fmt.Errorf("--interval must be positive, not %v", every)
	}
	req := messages.ClientGetQueue{PerQueue: head}
	if err := req.Validate(); err != nil {
		return fmt.Errorf("--head: %w", err)
	}
	c, closeClient, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer closeClient()
	for {
		q, err := c.QueryQueue(ctx, req)
		if err != nil {
			if watch && ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("queue: %w", err)
		}
		switch {
		case asJSON && watch:
			// One snapshot per line, for tools that read a stream.
			err = printJSONLine(a.stdout, queueJSON(q))
		case asJSON:
			err = printJSON(a.stdout, queueJSON(q))
		default:
			switch {
			case watch && isTerminal(a.stdout):
				// Redrawn in place, as top does; a pipe or file gets
				// every snapshot, one after the other.
				fmt.Fprintf(a.stdout, "\x1b[H\x1b[2J%s (every %v; Ctrl-C to stop)\n", time.Now().Format(time.TimeOnly), every)
			case watch:
				fmt.Fprintf(a.stdout, "\n%s\n", time.Now().Format(time.TimeOnly))
			}
			err = printQueue(a.stdout, q, time.Now())
		}
		if err != nil || !watch {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

// queueJSON is the snapshot in the shape GET /api/v1/queue gives.
func queueJSON(q *messages.BackendGetQueue) any { return jobjson.NewQueue(q, time.Now(), nil) }

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func printQueue(w io.Writer, q *messages.BackendGetQueue, now time.Time) error {
	running, waiting := len(q.JobsRunning), len(q.JobsWaiting)
	if s := q.Summary; s != nil {
		running, waiting = s.Running, s.Waiting
		if err := printCounts(w, s); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "running: %d%s\n", running, shown(len(q.JobsRunning), running))
	if err := printRunning(w, q.JobsRunning, now); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nwaiting: %d%s\n", waiting, shown(len(q.JobsWaiting), waiting))
	return printWaiting(w, q.JobsWaiting, now)
}

// printWaiting is a table of waiting jobs; POS is "-" for a job not placed
// in the dispatch order (a page of --all, a frontend's deep jobs).
// Positions count within a queue (an environment's jobs), so jobs of
// several environments are shown a table per environment, each headed by
// its name: two jobs at POS 1 in one table read as a mistake.
func printWaiting(w io.Writer, jobs []messages.QueueWaitingJob, now time.Time) error {
	if len(jobs) == 0 {
		return nil
	}
	var order []string
	byEnv := map[string][]messages.QueueWaitingJob{}
	for _, j := range jobs {
		env := j.EnvironmentType + "/" + j.Environment
		if byEnv[env] == nil {
			order = append(order, env)
		}
		byEnv[env] = append(byEnv[env], j)
	}
	for i, env := range order {
		if len(order) > 1 {
			if i > 0 {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "queue %s:\n", termsafe.Line(env))
		}
		t := newTable(w)
		t.row("POS", "JOB", "TASK", "ENVIRONMENT", "PRIORITY", "LAUNCHER", "QUEUED", "STARTS", "WAITS FOR")
		for _, j := range byEnv[env] {
			pos := "-"
			if j.Position > 0 {
				pos = strconv.Itoa(j.Position)
			}
			t.row(pos, j.JobID, orDash(j.Info), env,
				strconv.Itoa(j.Priority), j.Launcher, ago(now, j.QueuedAt), startsIn(now, j.EstimatedStart), waitReason(j.Reason))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	return nil
}

// printCounts is the counts per environment and course, when there is
// more than one. A course is its client's (and frontend's, within the
// HTTP API), so CLIENT tells two clients' courses of one id apart.
func printCounts(w io.Writer, s *messages.QueueSummary) error {
	if len(s.Counts) <= 1 {
		return nil
	}
	t := newTable(w)
	t.row("ENVIRONMENT", "CLIENT", "COURSE", "RUNNING", "WAITING")
	for _, c := range s.Counts {
		t.row(c.EnvironmentType+"/"+c.Environment, countOwner(c), c.CourseID, strconv.Itoa(c.Running), strconv.Itoa(c.Waiting))
	}
	if err := t.flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w)
	return err
}

// countOwner names whose course c counts as backend.course-weights does:
// "client", or "client:frontend" for an HTTP API token's; "-" from a
// backend that does not say.
func countOwner(c messages.QueueCount) string {
	if c.ClientID == "" {
		return "-"
	}
	return messages.CourseOwner(c.ClientID, c.Frontend)
}

func printRunning(w io.Writer, jobs []messages.QueueRunningJob, now time.Time) error {
	if len(jobs) == 0 {
		return nil
	}
	t := newTable(w)
	t.row("JOB", "TASK", "ENVIRONMENT", "AGENT", "LAUNCHER", "STARTED", "MAX TIME", "ATTEMPT")
	for _, j := range jobs {
		agent := j.Agent
		if j.Killing {
			agent += " (killing)"
		}
		t.row(j.JobID, orDash(j.Info), j.EnvironmentType+"/"+j.Environment, agent, j.Launcher,
			ago(now, j.StartedAt), seconds(j.MaxTime), strconv.Itoa(j.Attempt))
	}
	return t.flush()
}

// startsIn is an estimated start as "in 40s", or "-" without one.
func startsIn(now time.Time, at int64) string {
	if at == 0 {
		return "-"
	}
	return "in " + max(0, time.UnixMilli(at).Sub(now)).Round(time.Second).String()
}

// shown says how many of n jobs the list holds when it stops short.
func shown(listed, n int) string {
	if listed < n {
		return fmt.Sprintf(" (the first %d)", listed)
	}
	return ""
}

func waitReason(r messages.WaitReason) string {
	switch r {
	case messages.WaitNoAgent:
		return "an agent offering its environment"
	case messages.WaitSlotsBusy:
		return "a free slot"
	case messages.WaitQueued:
		return "jobs queued before it"
	case messages.WaitLowerPriority:
		return "jobs of a better priority"
	case messages.WaitFairShare:
		return "the fair share: other courses or users first"
	}
	return string(r)
}
