package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ingo-grader/ingo/messages"
)

func newKillCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "kill JOBID",
		Short: "Kill a waiting or running job",
		Long: `Kill a job. A waiting job leaves the queue at once; a running one once its
agent has stopped it. Either way the client that submitted it gets a result
with status killed.`,
		Args: exactArgs(1, "JOBID"),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runKill(cmd.Context(), args[0]) },
	}
}

func (a *app) runKill(ctx context.Context, jobID string) error {
	c, closeClient, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer closeClient()
	if err := c.KillJob(ctx, jobID); err != nil {
		// A job that finished is "unknown" to a kill: say so rather than
		// have the operator wonder whether the id was mistyped.
		var me *messages.Error
		if errors.As(err, &me) && me.Code == messages.CodeUnknownJob {
			if rec, herr := c.HistoryJob(ctx, jobID); herr == nil {
				return fmt.Errorf("job %s finished already (%s, at %s): nothing to kill; 'ingo result %s' prints its result",
					jobID, rec.Result.Status, time.UnixMilli(rec.FinishedAt).UTC().Format(time.RFC3339), jobID)
			}
		}
		return fmt.Errorf("%w (`ingo queue` lists the jobs that can be killed)", err)
	}
	_, err = fmt.Fprintf(a.stdout, "kill of job %s accepted\n", jobID)
	return err
}
