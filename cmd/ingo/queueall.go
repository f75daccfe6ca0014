package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// pageOpts are the flags of `ingo queue` that shape what it asks for.
type pageOpts struct {
	head, limit int
	env, course string
}

// request is the first page's request.
func (o pageOpts) request() (messages.ClientGetQueue, error) {
	if o.limit < 1 {
		return messages.ClientGetQueue{}, fmt.Errorf("queue --all: --limit must be at least 1, not %d", o.limit)
	}
	req := messages.ClientGetQueue{Limit: o.limit, CourseID: o.course}
	req.EnvironmentType, req.Environment, _ = strings.Cut(o.env, "/")
	if err := req.Validate(); err != nil {
		return req, fmt.Errorf("queue --all: %w", err)
	}
	return req, nil
}

// runQueueAll prints every job a page at a time, as the pages arrive: its
// memory is one page, whatever the size of the queue.
func (a *app) runQueueAll(ctx context.Context, asJSON bool, o pageOpts) error {
	req, err := o.request()
	if err != nil {
		return err
	}
	c, closeClient, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer closeClient()
	for first := true; ; first = false {
		q, err := c.QueryQueue(ctx, req)
		if err != nil {
			return fmt.Errorf("queue: %w", err)
		}
		if asJSON {
			err = printJSONLine(a.stdout, pageJSON(q))
		} else {
			err = printPage(a.stdout, q, first, time.Now())
		}
		if err != nil || q.Next == nil {
			return err
		}
		req.After = q.Next
	}
}

// pageJSON is one page of --all --json: the snapshot's fields and the
// cursor of the next page, null on the last.
func pageJSON(q *messages.BackendGetQueue) any {
	var next *string
	if q.Next != nil {
		s := q.Next.String()
		next = &s
	}
	return struct {
		Page any     `json:"page"`
		Next *string `json:"next"`
	}{queueJSON(q), next}
}

// printPage prints the counts before the first page, then each page's
// rows: running jobs, then waiting ones.
func printPage(w io.Writer, q *messages.BackendGetQueue, first bool, now time.Time) error {
	if first && q.Summary != nil {
		fmt.Fprintf(w, "running: %d, waiting: %d\n", q.Summary.Running, q.Summary.Waiting)
		if err := printCounts(w, q.Summary); err != nil {
			return err
		}
	}
	if err := printRunning(w, q.JobsRunning, now); err != nil {
		return err
	}
	return printWaiting(w, q.JobsWaiting, now)
}
