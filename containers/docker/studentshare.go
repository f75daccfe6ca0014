package docker

import (
	"context"
	"math"
	"slices"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"

	"github.com/ingo-grader/ingo/messages"
)

// A job's student containers running at once share its CPUs equally: one
// alone has them whole, as the grading container does; n at once have an
// n-th each, resized as calls start and end (docker update). Each also
// gets an n-th of the job's process limit, n counted when it is created,
// and keeps it: a lower pids.max would not kill, but would fail the forks
// and threads of a call already running, by when its siblings started.
// Without this each had the whole, and a run file that started eight
// calls at once took nine times the job's CPUs and processes (nine times
// 4,096 processes is more than a host's pid_max); now at most the job's
// CPUs and about 2.7 times its processes (1 + 1/2 + ... + 1/8) besides the
// grading container's, floors aside (at least a tenth of a CPU and 32
// processes each). Shares follow the calls that run, not their
// --memory: a call alone runs at full speed whatever memory it asked for.
type studentShares struct {
	mu  sync.Mutex
	ids []string // running, in the order they joined
}

// Floors of a share, so that eight calls still start: a tenth of a CPU,
// and the helper, a shell and a few commands (never above the job's own).
const (
	minStudentNanoCPUs = 100_000_000
	minStudentPids     = 32
)

// setShare gives hc one n-th of the job's CPUs (cpus) and processes
// (l.Processes).
func setShare(hc *container.HostConfig, l messages.Limits, cpus float64, n int) {
	hc.NanoCPUs = cpuShare(cpus, n)
	if l.Processes > 0 {
		p := max(int64(math.Ceil(float64(l.Processes)/float64(n))), min(minStudentPids, l.Processes))
		hc.PidsLimit = &p
	}
}

// joinShares creates a student container with create, given n, the
// number of containers that then run (itself included), and gives the
// others the same share of the CPUs. Joins and leaves of a job take turns,
// so the shares add up to the job's at every moment but the few
// milliseconds of an update; a call that ends may wait for a sibling's
// create, so a slow daemon slows the job's other calls.
func (c *jobChannel) joinShares(create func(n int) (string, error)) (string, error) {
	s := &c.shares
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := create(len(s.ids) + 1)
	if err != nil {
		return "", err
	}
	s.ids = append(s.ids, id)
	c.resizeShares(id) // created with its share already
	return id, nil
}

// leaveShares forgets a student container that stopped (or that the job's
// end abandons) and gives the others its part.
func (c *jobChannel) leaveShares(id string) {
	s := &c.shares
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = slices.DeleteFunc(s.ids, func(x string) bool { return x == id })
	c.resizeShares("")
}

// cpuShare is one n-th of cpus, in NanoCPUs; resizes change only it.
func cpuShare(cpus float64, n int) int64 {
	full := int64(cpus * 1e9)
	return max(full/int64(n), min(minStudentNanoCPUs, full))
}

// resizeShares gives every running student container but skip an equal
// share of the CPUs; the lock is held. A container that has just ended
// cannot be updated, which matters to nobody.
func (c *jobChannel) resizeShares(skip string) {
	s := &c.shares
	share := cpuShare(c.r.opts.CPUs, max(len(s.ids), 1))
	for _, id := range s.ids {
		if id == skip {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.r.opts.APITimeout)
		_, err := c.r.api.ContainerUpdate(ctx, id, container.UpdateConfig{Resources: container.Resources{NanoCPUs: share}})
		cancel()
		switch {
		case err == nil:
		case errdefs.IsNotFound(err) || errdefs.IsConflict(err): // it ended
			c.r.log.Debug("student container: share not updated", "job", c.job.ID(), "container", id, "err", err)
		default:
			c.r.log.Warn("student container: share not updated; the job's student containers may use more than its CPUs", "job", c.job.ID(), "container", id, "running", len(s.ids), "err", err)
		}
	}
}
