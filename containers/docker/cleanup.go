package docker

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/errdefs"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// labels are what every container and volume of a job carries: whose it is
// (the runtime's agent id, the job's installation and agent session) and
// which attempt, so that Cleanup can tell a dead process's leftovers from
// what a live agent (of this installation or another on the same host, of
// the same id) still uses. role is "" on the grading container.
func (r *Runtime) labels(job *containers.Job, role string) map[string]string {
	l := map[string]string{
		LabelAgent:        r.opts.AgentID,
		LabelInstallation: job.Installation,
		LabelSession:      job.Session,
		LabelJob:          job.ID(),
		LabelAttempt:      strconv.Itoa(job.Attempt),
	}
	if role != "" {
		l[LabelRole] = role
	}
	return l
}

// withRole is labels with io.ingo.role set to role (a copy).
func withRole(labels map[string]string, role string) map[string]string {
	l := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		l[k] = v
	}
	l[LabelRole] = role
	return l
}

// owned finds the resources labelled with this runtime's agent id, of
// every installation and ingo version: removable checks the other labels
// (and this one again), and says once that it leaves the old ones alone.
func (r *Runtime) owned() filters.Args {
	return filters.NewArgs(filters.Arg("label", LabelAgent+"="+r.opts.AgentID))
}

// removable says whether the resource with labels l goes under req, and
// which attempt it was made for.
func (r *Runtime) removable(l map[string]string, req *containers.CleanupRequest) (messages.JobAttempt, bool) {
	n, err := strconv.Atoi(l[LabelAttempt])
	if err != nil {
		n = 0
	}
	ref := messages.JobAttempt{JobID: l[LabelJob], Attempt: n}
	if l[LabelAgent] != r.opts.AgentID {
		return ref, false // the daemon filtered already; be sure
	}
	if _, ok := r.reapingRefs.Load(ref); ok && l[LabelPool] == "" {
		return ref, false // Run's removal after the result is under way
	}
	if l[LabelSession] == "" && r.oldLogged.CompareAndSwap(false, true) {
		r.log.Warn("leaving alone containers and volumes of this agent id made by an older ingo (no session label): remove them by hand once no such agent runs",
			"label", LabelAgent+"="+r.opts.AgentID)
	}
	if tok := l[LabelPool]; tok != "" {
		// A warm container (or its volume) has no attempt: its own
		// session's goes once this runtime no longer has it (a failed
		// removal), another session's as that session's attempts do.
		inst, sess := l[LabelInstallation], l[LabelSession]
		if inst != req.Installation || sess == "" {
			return ref, false
		}
		if sess == req.Session {
			return ref, !r.pool.isKnown(tok)
		}
		return ref, req.Others
	}
	return ref, req.Removes(l[LabelInstallation], l[LabelSession], ref)
}

// Cleanup removes the containers (grading and student) labelled with this
// agent's id that req lets go (containers.CleanupRequest.Removes), then
// such volumes; warm containers (LabelPool) of its own session once the
// pool no longer has them, of other sessions when req.Others. Containers of another agent id or installation, without
// ingo's labels, or made by an ingo without session labels, are never
// touched.
func (r *Runtime) Cleanup(ctx context.Context, req containers.CleanupRequest) ([]messages.JobAttempt, error) {
	// The agent's installation and session: the warm pool labels its
	// containers with them.
	r.pool.setOwner(owner{req.Installation, req.Session})
	actx, cancel := r.apiCtx(ctx)
	list, err := r.api.ContainerList(actx, container.ListOptions{All: true, Filters: r.owned()})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var removed []messages.JobAttempt
	seen := map[messages.JobAttempt]bool{}
	var errs []error
	for _, c := range list {
		ref, ok := r.removable(c.Labels, &req)
		if !ok {
			continue
		}
		actx, cancel := r.apiCtx(ctx)
		err = r.api.ContainerRemove(actx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		cancel()
		if err != nil {
			// Gone meanwhile (its Run removed it after the listing) is
			// not a leftover this call removed.
			if !errdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("remove container %.12s: %w", c.ID, err))
			}
			continue
		}
		if c.Labels[LabelPool] != "" {
			r.log.Info("removed a warm container left over", "container", c.ID, "session", c.Labels[LabelSession])
			continue // no attempt of its own
		}
		if !seen[ref] { // a job's student containers carry its labels too
			seen[ref] = true
			removed = append(removed, ref)
		}
	}
	if len(errs) == 0 {
		if err := r.cleanupVolumes(ctx, &req); err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// cleanupVolumes removes the volumes req lets go, once their containers
// are gone.
func (r *Runtime) cleanupVolumes(ctx context.Context, req *containers.CleanupRequest) error {
	actx, cancel := r.apiCtx(ctx)
	list, err := r.api.VolumeList(actx, volume.ListOptions{Filters: r.owned()})
	cancel()
	if err != nil {
		return fmt.Errorf("list volumes: %w", err)
	}
	for _, v := range list.Volumes {
		if v == nil {
			continue
		}
		if _, ok := r.removable(v.Labels, req); !ok {
			continue
		}
		actx, cancel := r.apiCtx(ctx)
		err := r.api.VolumeRemove(actx, v.Name, true)
		cancel()
		if err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("remove volume %s: %w", v.Name, err)
		}
	}
	return nil
}
