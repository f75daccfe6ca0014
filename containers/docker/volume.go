package docker

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/errdefs"

	"github.com/ingo-grader/ingo/containers/helper/contract"
	"github.com/ingo-grader/ingo/messages"
)

// studentDirBytes sizes the /task/student volume: as /task, but at most
// Limits.Memory. What a student container writes there stays after it
// ends, charged to no running container's memory cgroup, so the size is
// part of what a job holds (JobMemory); and no container of the job can
// fill more than its memory limit anyway.
func studentDirBytes(l messages.Limits) int64 {
	size := int64(maxTaskBytes)
	if l.Disk > 0 {
		size = l.Disk << 20
	}
	if l.Memory > 0 {
		size = min(size, l.Memory<<20)
	}
	return size
}

// createVolume makes the job's /task/student: a tmpfs volume of the local
// driver, which the daemon mounts once and shares between the grading
// container and its student containers. It lives in the daemon, not in a
// path the agent must share with it, and goes with the job.
func (r *Runtime) createVolume(l messages.Limits, labels map[string]string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.APITimeout)
	defer cancel()
	v, err := r.api.VolumeCreate(ctx, volume.CreateOptions{
		Driver: "local",
		DriverOpts: map[string]string{
			"type":   "tmpfs",
			"device": "tmpfs",
			"o": fmt.Sprintf("size=%dk,uid=%d,gid=%d,mode=0755,nosuid,nodev",
				(studentDirBytes(l)+1023)>>10, workerID, workerID),
		},
		Labels: labels,
	})
	if err != nil {
		return "", failure("The grading container's student folder could not be created", err)
	}
	return v.Name, nil
}

// removeVolume removes a job's volume (after its containers).
func (r *Runtime) removeVolume(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := r.api.VolumeRemove(ctx, name, true); err != nil && !errdefs.IsNotFound(err) {
		r.log.Warn("remove volume; Cleanup will retry", "volume", name, "err", err)
	}
}

// studentDirMount mounts the volume at /task/student. NoCopy: Docker would
// otherwise copy the image's folder into an empty volume and give the
// volume's root that folder's owner (root), the first time a container
// mounts it, under the feet of the one already running.
func studentDirMount(name string) []mount.Mount {
	return []mount.Mount{{
		Type: mount.TypeVolume, Source: name, Target: contract.StudentDir,
		VolumeOptions: &mount.VolumeOptions{NoCopy: true},
	}}
}
