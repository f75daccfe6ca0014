package docker

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/mount"
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

// The /task/student volume holds at most studentDirInodes files and
// folders: one per 32 KiB of its size, within [4096, 16384]. Its size
// bounds the files' data only; each file or folder also costs the kernel
// about a KiB (inode and entry) that no size counts, charged to the memory
// cgroup of the container that made it while that container lives, and to
// nobody's once it is gone. Without the bound, run_student calls each
// filling their memory limit with empty files left gigabytes of kernel
// memory behind (3 million files, 3.3 GB, for one job), past JobMemory.
// JobMemory counts inodeBytes a file: measured on a 6.18 kernel (cgroup
// v1 kmem), an empty file cost 960 bytes, one with a 255-byte name 1,480,
// and one with the user xattrs tmpfs allows (1 KiB a file, which kmalloc
// may round up) 2,050.
const (
	studentDirFileBytes = 32 << 10
	minStudentDirInodes = 4096
	maxStudentDirInodes = 16384
	inodeBytes          = 3 << 10
)

// studentDirInodes is how many files and folders /task/student may hold.
func studentDirInodes(l messages.Limits) int64 {
	return min(max(studentDirBytes(l)/studentDirFileBytes, minStudentDirInodes), maxStudentDirInodes)
}

// newVolumeName names a job's /task/student volume: the create of the
// grading container makes it (studentDirVolume), and its student
// containers mount it by that name.
func newVolumeName() string {
	return "ingo-student-" + strings.ToLower(rand.Text())
}

// studentDirVolume mounts the job's /task/student volume, named name, and
// makes it with the container: a tmpfs volume of the local driver, which
// the daemon mounts once and shares between the grading container and its
// student containers. It lives in the daemon, not in a path the agent
// must share with it, and goes with the job. Made by the container's
// create (the daemon creates a volume a mount names with the mount's
// driver options and labels), not by a call of its own before: one round
// trip less per job.
func studentDirVolume(name string, l messages.Limits, labels map[string]string) []mount.Mount {
	ms := studentDirMount(name)
	ms[0].VolumeOptions.Labels = labels
	ms[0].VolumeOptions.DriverConfig = &mount.Driver{
		Name: "local",
		Options: map[string]string{
			"type":   "tmpfs",
			"device": "tmpfs",
			"o": fmt.Sprintf("size=%dk,nr_inodes=%d,uid=%d,gid=%d,mode=0755,nosuid,nodev",
				(studentDirBytes(l)+1023)>>10, studentDirInodes(l), workerID, workerID),
		},
	}
	return ms
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
