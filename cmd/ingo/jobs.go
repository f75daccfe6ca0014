package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/jobjson"
	"github.com/ingo-grader/ingo/messages"
)

// historyPoll is how often `ingo result --wait` asks the history again.
const historyPoll = 500 * time.Millisecond

func newResultCmd(a *app) *cobra.Command {
	var wait, asJSON bool
	cmd := &cobra.Command{
		Use:   "result JOBID",
		Short: "Print a finished job's result from the job history",
		Long: `Print a job's result from the job history, any time after it finished
(within backend.history-retention, 30 days by default), whoever submitted it:
an admin reads every job, a frontend its own. With --wait, wait until the job
finishes. With --json, print the job's record (ids, course, task, user,
environment, agent, times, attempts) and its result as JSON.`,
		Args: exactArgs(1, "JOBID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runResult(cmd.Context(), args[0], wait, asJSON)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the job has finished")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the record and result as JSON")
	return cmd
}

func (a *app) runResult(ctx context.Context, jobID string, wait, asJSON bool) error {
	if err := messages.ValidateID(jobID); err != nil {
		return fmt.Errorf("job id: %w", err)
	}
	c, closeClient, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer closeClient()
	for {
		r, err := c.HistoryJob(ctx, jobID)
		switch {
		case err == nil:
			if asJSON {
				return printJSON(a.stdout, jobjson.NewRecord(r))
			}
			return a.printRecord(r)
		case !errors.Is(err, frontendclient.ErrNotInHistory):
			return err
		case !wait:
			return fmt.Errorf("job %s is not in the history: it has not finished yet (use --wait), is older than backend.history-retention, or was submitted by another frontend", jobID)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(historyPoll):
		}
	}
}

func (a *app) printRecord(r *messages.JobRecord) error {
	t := newTable(a.stdout)
	t.row("course", r.CourseID)
	t.row("task", r.TaskID)
	t.row("user", r.User)
	t.row("environment", r.EnvironmentType+"/"+r.Environment)
	t.row("agent", r.Agent)
	t.row("attempts", strconv.Itoa(r.Attempts))
	t.row("submitted", time.UnixMilli(r.SubmittedAt).Format(time.RFC3339))
	t.row("finished", time.UnixMilli(r.FinishedAt).Format(time.RFC3339))
	if r.ArchiveDropped > 0 {
		t.row("archive", fmt.Sprintf("%d bytes, too large for the history (backend.history-max-archive)", r.ArchiveDropped))
	}
	if err := t.flush(); err != nil {
		return err
	}
	return printResult(a.stdout, &messages.BackendJobDone{JobID: r.JobID, JobResult: r.JobResult})
}

func newJobsCmd(a *app) *cobra.Command {
	var q messages.ClientGetHistory
	var status string
	var since time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List finished jobs from the job history, newest first",
		Long: `List finished jobs from the job history, newest first: an admin sees every
job, a frontend its own. --course, --status and --since narrow the list;
--limit bounds a page (at most 1000); when there are more, stderr says
which --cursor gives the next page. ` + "`ingo result JOBID`" + ` prints one job's result.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q.Status = messages.Status(status)
			if since > 0 {
				q.Since = time.Now().Add(-since).UnixMilli()
			}
			return a.runJobs(cmd.Context(), q, asJSON)
		},
	}
	cmd.Flags().StringVar(&q.CourseID, "course", "", "only this course's jobs")
	cmd.Flags().StringVar(&status, "status", "", "only jobs with this status (success, failed, error, crash, timeout, overflow, killed)")
	cmd.Flags().DurationVar(&since, "since", 0, "only jobs finished within this duration, e.g. 2h")
	cmd.Flags().IntVar(&q.Limit, "limit", 50, "most jobs listed")
	cmd.Flags().Uint64Var(&q.Cursor, "cursor", 0, "start after the previous page (the cursor a listing printed on stderr)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the jobs as a JSON array")
	return cmd
}

func (a *app) runJobs(ctx context.Context, q messages.ClientGetHistory, asJSON bool) error {
	if err := q.Validate(); err != nil {
		return err
	}
	c, closeClient, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer closeClient()
	jobs, next, err := c.History(ctx, q)
	if err != nil {
		return err
	}
	if next != 0 {
		// On stderr: stdout stays the list (or the JSON array) alone.
		defer fmt.Fprintf(a.stderr, "more jobs: ingo jobs --cursor %d (with the same filters)\n", next)
	}
	if asJSON {
		out := make([]jobjson.Record, 0, len(jobs))
		for i := range jobs {
			out = append(out, jobjson.NewRecord(&jobs[i]))
		}
		return printJSON(a.stdout, out)
	}
	t := newTable(a.stdout)
	t.row("JOB", "STATUS", "GRADE", "COURSE/TASK", "USER", "FINISHED")
	for _, r := range jobs {
		t.row(r.JobID, string(r.Result.Status), strconv.FormatFloat(r.Grade, 'f', -1, 64), orDash(messages.JobInfo(r.CourseID, r.TaskID)),
			r.User, time.UnixMilli(r.FinishedAt).Format(time.DateTime))
	}
	return t.flush()
}
