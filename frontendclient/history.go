package frontendclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/messages"
)

// ErrNotInHistory is returned by HistoryJob for a job the history does not
// hold for this client: not finished yet, past the retention, or another
// frontend's.
var ErrNotInHistory = errors.New("frontendclient: the job is not in the history")

// HistoryJob returns a finished job's whole record from the backend's job
// history (messages.ClientGetHistory). A frontend gets its own jobs only;
// an admin client (Options.Admin) every job.
func (c *Client) HistoryJob(ctx context.Context, jobID string) (*messages.JobRecord, error) {
	h, err := c.history(ctx, &messages.ClientGetHistory{JobID: jobID})
	var me *messages.Error
	if errors.As(err, &me) && me.Code == messages.CodeUnknownJob {
		return nil, fmt.Errorf("%w: %s", ErrNotInHistory, me.Text)
	}
	if err != nil {
		return nil, err
	}
	if len(h.Jobs) != 1 || h.Jobs[0].JobID != jobID {
		return nil, fmt.Errorf("frontendclient: the history answered %d records for job %s", len(h.Jobs), jobID)
	}
	return &h.Jobs[0], nil
}

// History returns a page of the job history, newest first: summaries
// (JobRecord.Summary), and the cursor of the next page (0: none).
func (c *Client) History(ctx context.Context, q messages.ClientGetHistory) ([]messages.JobRecord, uint64, error) {
	q.JobID = ""
	if err := q.Validate(); err != nil {
		return nil, 0, fmt.Errorf("frontendclient: %w", err)
	}
	h, err := c.history(ctx, &q)
	if err != nil {
		return nil, 0, err
	}
	return h.Jobs, h.Next, nil
}

// history sends one request: the answer comes on our inbox, not on our
// client subject, so it never mixes with the backend's other messages.
func (c *Client) history(ctx context.Context, q *messages.ClientGetHistory) (*messages.BackendHistory, error) {
	data, err := messages.Encode(q)
	if err != nil {
		return nil, fmt.Errorf("frontendclient: %w", err)
	}
	subject := c.subj.HistoryClient(c.opts.ClientID)
	if c.opts.Admin {
		subject = c.subj.HistoryAdmin(c.opts.ClientID)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.RequestTimeout)
		defer cancel()
	}
	m, err := c.nc.RequestWithContext(ctx, subject, data)
	if errors.Is(err, nats.ErrNoResponders) || (err == nil && natsconn.IsStatus(m)) {
		return nil, fmt.Errorf("%w (is the backend running, with backend.durable and backend.history on?)", ErrNoHistory)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("frontendclient: history request: %w: %w", ErrNoAnswer, err)
	}
	if err != nil {
		return nil, fmt.Errorf("frontendclient: history request: %w", err)
	}
	msg, err := messages.Decode(m.Data)
	if err != nil {
		return nil, fmt.Errorf("frontendclient: history answer: %w", err)
	}
	switch a := msg.(type) {
	case *messages.BackendHistory:
		return a, nil
	case *messages.Error:
		return nil, a
	}
	return nil, fmt.Errorf("frontendclient: history answer is a %s", msg.MessageName())
}
