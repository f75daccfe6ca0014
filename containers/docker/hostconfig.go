package docker

import (
	"context"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"

	"github.com/ingo-grader/ingo/messages"
)

// hostConfig is what grading and student containers share: network
// "none", a read-only rootfs with the tmpfs mounts mnts, no capabilities,
// no new privileges, the seccomp profile of Options.Seccomp, no log (stdout is the channel; the runtime keeps
// stderr), CPUs, open files, file size and process bounds. Memory is the
// caller's. maxResult is the grading job's attempt.maxResult.
func (r *Runtime) hostConfig(l messages.Limits, maxResult int64, mnts map[string]string) *container.HostConfig {
	hc := &container.HostConfig{
		NetworkMode: "none",
		// Writable: the tmpfs mounts only, each with its size.
		ReadonlyRootfs: true,
		Tmpfs:          mnts,
		CapDrop:        []string{"ALL"},
		SecurityOpt:    r.securityOpt(),
		LogConfig:      container.LogConfig{Type: "none"},
		Resources: container.Resources{
			NanoCPUs: int64(r.opts.CPUs * 1e9),
			Ulimits:  []*container.Ulimit{{Name: "nofile", Soft: r.opts.NoFile, Hard: r.opts.NoFile}},
		},
	}
	if l.Disk > 0 {
		// Each file at most the disk bound too (RLIMIT_FSIZE; a process
		// writing past it gets SIGXFSZ / EFBIG), for files written outside
		// the tmpfs mounts (/dev/shm). Never below what the helper's
		// feedback and result may need.
		fsize := max(l.Disk<<20, maxResult+1<<20)
		hc.Ulimits = append(hc.Ulimits, &container.Ulimit{Name: "fsize", Soft: fsize, Hard: fsize})
	}
	if l.Processes > 0 {
		p := l.Processes
		hc.PidsLimit = &p
	}
	return hc
}

// remove removes a container and its anonymous volumes, whatever its state.
func (r *Runtime) remove(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	err := r.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !errdefs.IsNotFound(err) {
		r.log.Warn("remove container; Cleanup will retry", "container", id, "err", err)
	}
}
