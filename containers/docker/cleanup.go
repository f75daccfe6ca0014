package docker

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/errdefs"

	"github.com/ingo-grader/ingo/messages"
)

// Cleanup removes the containers labelled with this agent's id whose
// attempt keep rejects (grading and student containers), then such
// volumes. Containers of other agents, or without ingo's
// labels, are never touched.
func (r *Runtime) Cleanup(ctx context.Context, keep func(messages.JobAttempt) bool) ([]messages.JobAttempt, error) {
	actx, cancel := r.apiCtx(ctx)
	list, err := r.api.ContainerList(actx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelAgent+"="+r.opts.AgentID)),
	})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var removed []messages.JobAttempt
	seen := map[messages.JobAttempt]bool{}
	var errs []error
	for _, c := range list {
		if c.Labels[LabelAgent] != r.opts.AgentID {
			continue // the daemon filtered already; be sure
		}
		n, err := strconv.Atoi(c.Labels[LabelAttempt])
		if err != nil {
			n = 0
		}
		ref := messages.JobAttempt{JobID: c.Labels[LabelJob], Attempt: n}
		if keep != nil && keep(ref) {
			continue
		}
		actx, cancel := r.apiCtx(ctx)
		err = r.api.ContainerRemove(actx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		cancel()
		if err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %.12s: %w", c.ID, err))
			continue
		}
		if !seen[ref] { // a job's student containers carry its labels too
			seen[ref] = true
			removed = append(removed, ref)
		}
	}
	if len(errs) == 0 {
		if err := r.cleanupVolumes(ctx, keep); err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}
