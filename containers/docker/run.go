package docker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/channel"
	"github.com/ingo-grader/ingo/containers/helper/contract"
	"github.com/ingo-grader/ingo/messages"
)

// cleanupTimeout bounds the removal of a container after its job, on a
// fresh context (the job's may be cancelled).
const cleanupTimeout = 20 * time.Second

// streamDrainTimeout bounds the wait for the end of the attach stream once
// the container stopped.
const streamDrainTimeout = 5 * time.Second

// verdict is what the runtime decided about an attempt while it ran.
type verdict int

const (
	verdictNone verdict = iota
	verdictCPU
	verdictHard
)

// sshMargin is added to the SSH bounds for the container's own limits, so
// that the helper ends a session with its clear text first.
const sshMargin = time.Minute

// Run runs one attempt in a new container; see containers.Runtime.
func (r *Runtime) Run(ctx context.Context, job *containers.Job, ev containers.Events) (messages.JobResult, error) {
	if ctx.Err() != nil {
		return messages.JobResult{}, fmt.Errorf("before create: %w", context.Cause(ctx))
	}
	sshJob := job.Desc.Debug == messages.DebugSSH || job.Desc.EnvironmentType == EnvTypeSSH
	switch t := job.Desc.EnvironmentType; {
	case t == EnvTypeSSH && !r.opts.SSH.Enabled():
		return messages.JobResult{}, failure(fmt.Sprintf("The environment type '%s' is not available on this agent", t), nil)
	case t != EnvType && t != EnvTypeSSH && t != "":
		return messages.JobResult{}, failure(fmt.Sprintf("The environment type '%s' is not available on this agent", t), nil)
	case job.Desc.Debug == messages.DebugSSH && !r.opts.SSH.Enabled():
		return messages.JobResult{}, failure("SSH debug is not enabled on this agent", nil)
	}
	var sshLimits *channel.SSHLimits
	if sshJob {
		// As INGInious: an SSH session has its own bounds, not the
		// task's time limits.
		j := *job
		t := (r.opts.SSH.MaxSession + sshMargin).Seconds()
		j.Limits.Time, j.Limits.HardTime = t, t
		job = &j
		sshLimits = r.opts.SSH.limits()
	}
	imageID, err := r.image(ctx, job.Desc.Environment)
	if err != nil {
		return messages.JobResult{}, err
	}
	files, inputLen, commonLen, err := containerTar(job, sshLimits)
	if err != nil {
		return messages.JobResult{}, err
	}

	// The /task/student folder is a volume the job's student containers
	// share (a tmpfs too, sized as /task).
	volume, err := r.createVolume(job)
	if err != nil {
		return messages.JobResult{}, err
	}
	defer r.removeVolume(volume)

	// Create and start on contexts the job's cancellation does not cut
	// short (a create cut mid-way may still make a container we would not
	// know of); the cancellation is checked after each step instead.
	created := time.Now()
	id, err := r.create(job, imageID, inputLen, commonLen, volume)
	if err != nil {
		return messages.JobResult{}, err
	}
	defer r.remove(id)
	// From now on: an OOM kill of any of its processes is an overflow.
	oom := r.watchOOM(ctx, id, created)
	defer oom.stop()
	if ctx.Err() != nil {
		return messages.JobResult{}, fmt.Errorf("while creating the container: %w", context.Cause(ctx))
	}

	// Attach before the start: the files go in on stdin (the tmpfs mounts
	// exist only once it runs, and the copy API cannot write into them),
	// then stdin and stdout carry the channel (containers/channel), or the
	// result comes back framed on stdout.
	frames := newFrameReader(maxResult(job))
	stderr := &boundedBuffer{max: maxStderrBytes}
	att, err := r.attach(ctx, id, frames, stderr, frames.closeMux)
	if err != nil {
		return messages.JobResult{}, failure("The grading container could not be attached to", err)
	}
	defer att.close()
	ch := newJobChannel(r, job, ev, id, imageID, volume)
	defer ch.close()

	if ctx.Err() != nil {
		return messages.JobResult{}, fmt.Errorf("while creating the container: %w", context.Cause(ctx))
	}
	if err := r.start(ctx, id); err != nil {
		return messages.JobResult{}, failure("The grading container could not start", err)
	}
	containers.ReportStarted(ev)
	go r.pollCgroup(oom, id, r.initPid(ctx, id))
	tarSent := make(chan struct{})
	go func() {
		defer close(tarSent)
		// The helper reads the tar to its end; a container that stopped
		// early makes this fail, which the result tells better. stdin
		// stays open: it carries the channel next.
		if _, err := att.conn.Conn.Write(files.Bytes()); err != nil {
			r.log.Debug("writing the task files to the container", "container", id, "err", err)
		}
	}()
	go func() {
		// The marker comes once the helper read the whole tar; nothing is
		// written to stdin before it.
		select {
		case <-frames.muxStarted:
		case <-ch.ctx.Done():
			return
		}
		<-tarSent
		r.log.Debug("container channel open", "container", id)
		if err := ch.start(frames.muxIn, att.conn.Conn); err != nil {
			r.log.Warn("container channel", "container", id, "err", err)
		}
	}()
	started := time.Now()

	lw := r.watchLimits(ctx, id, job.Limits.Time, job.Limits.HardTime)
	defer lw.stop()
	over, hard := lw.over, lw.hard

	v := verdictNone
	exit := int64(-1)
	oomHit := oom.hit
wait:
	for {
		select {
		case w := <-att.exited:
			exit = w.StatusCode
			break wait
		case err := <-att.waitErr:
			// The wait broke (daemon restart?): fall back to inspecting.
			r.log.Warn("container wait failed", "container", id, "err", err)
			exit = r.waitInspect(ctx, id)
			break wait
		case <-ctx.Done():
			r.kill(id)
			return messages.JobResult{}, fmt.Errorf("while running: %w", context.Cause(ctx))
		case <-over:
			v = verdictCPU
			r.kill(id)
			over = nil
		case <-hard:
			if v == verdictNone {
				v = verdictHard
			}
			r.kill(id)
			hard = nil
		case <-oomHit:
			// The result is overflow whatever the run file does next
			// (as INGInious, which kills the container on the event).
			r.kill(id)
			oomHit = nil
		}
	}
	lw.stop()
	r.log.Debug("container stopped", "container", id, "exit", exit, "wall", time.Since(started))

	// Overflow wins over timeout: a process killed by the OOM killer may
	// also have used its time.
	if oom.killed() || r.oomKilled(ctx, id) {
		return messages.NewJobResult(messages.StatusOverflow, textOverflow, ""), nil
	}
	switch v {
	case verdictCPU:
		return messages.NewJobResult(messages.StatusTimeout, textTimeout, ""), nil
	case verdictHard:
		return messages.NewJobResult(messages.StatusTimeout, textHardTime, ""), nil
	}
	// The attach stream ends with the container; give it a moment to
	// drain, then give up on it.
	if err := att.drain(ctx); ctx.Err() != nil {
		return messages.JobResult{}, fmt.Errorf("while reading the result: %w", context.Cause(ctx))
	} else if err != nil {
		r.log.Debug("container attach stream", "container", id, "err", err)
	}
	if stderr.buf.Len() > 0 {
		r.log.Debug("container stderr", "container", id, "stderr", stderr.buf.String())
	}
	max := maxResult(job)
	var data []byte
	err = nil
	chData, chGot := ch.takenResult()
	switch {
	case chGot && ch.resultOver.Load():
		err = errResultTooLarge
	case chGot:
		data = chData
	case frames.tooBig:
		err = errResultTooLarge
	case frames.gotSome:
		data = frames.result
	default:
		// Nothing framed: an older helper may have left result.json (it
		// cannot be read from a tmpfs once the container stopped).
		data, err = r.readResult(context.WithoutCancel(ctx), id, max)
	}
	switch {
	case errors.Is(err, errNoResult):
		return crash(textNoResult), nil
	case errors.Is(err, errResultTooLarge):
		return messages.NewJobResult(messages.StatusError,
			fmt.Sprintf("The grader's result is larger than the bound of %d bytes for an output limit of %d bytes.", max, job.Limits.Output), ""), nil
	case err != nil:
		// The copy API fails on a stopped container's tmpfs paths in
		// ways that are not "not found": still no result.
		r.log.Debug("reading result.json", "container", id, "err", err)
		return crash(textNoResult), nil
	}
	res, err := jobResult(data, job.Desc.Debug)
	if err != nil {
		return crash("The grading container gave a result that cannot be read."), nil
	}
	return res, nil
}

// image finds the image of an environment.
func (r *Runtime) image(ctx context.Context, env string) (string, error) {
	envs, err := r.cachedEnvironments(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("list environments: %w", context.Cause(ctx))
		}
		return "", failure("The grading images could not be listed", err)
	}
	info, ok := envs[EnvType][env]
	if !ok {
		return "", failure(fmt.Sprintf("The environment '%s' is not available on this agent", env), nil)
	}
	return info.ID, nil
}

// create makes the container of an attempt.
func (r *Runtime) create(job *containers.Job, imageID string, inputLen, commonLen int64, volume string) (string, error) {
	l := job.Limits
	cfg := &container.Config{
		Image:      imageID,
		User:       fmt.Sprintf("%d:%d", workerID, workerID),
		WorkingDir: contract.TaskDir,
		// The files come on stdin (one tar), then stdin and stdout carry
		// the channel (or the result goes out on stdout).
		OpenStdin:    true,
		StdinOnce:    true,
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
		Labels:       r.labels(job, ""),
	}
	ms := mounts(l, inputLen)
	if commonLen > 0 {
		// The course's common files, made read-only by the helper.
		ms = append(ms, tmpfsMount{path: contract.CourseDir, size: commonLen, mode: "0755", owned: true, exec: true})
	}
	mnts, _ := tmpfs(ms)
	hc := r.hostConfig(l, mnts)
	if job.Desc.EnvironmentParameters.NetworkGrading {
		hc.NetworkMode = container.NetworkMode(r.opts.Network)
	}
	if volume != "" {
		hc.Mounts = studentDirMount(volume)
	}
	if m := gradingMemory(l); m > 0 {
		// The tmpfs mounts count inside (their pages are charged to the
		// writer's cgroup): a job holds its memory limit, not that plus
		// its disk; a grader filling its disk may be an overflow.
		hc.Memory, hc.MemorySwap = m, m
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.APITimeout)
	defer cancel()
	resp, err := r.api.ContainerCreate(ctx, cfg, hc, nil, nil, "")
	if err != nil {
		// Maybe the image went while the event stream was down.
		r.invalidate()
		return "", failure("The grading container could not be created", err)
	}
	return resp.ID, nil
}

// hostConfig is what grading and student containers share: network
// "none", a read-only rootfs with the tmpfs mounts mnts, no capabilities,
// no new privileges, no log (stdout is the channel; the runtime keeps
// stderr), CPUs, open files, file size and process bounds. Memory is the
// caller's.
func (r *Runtime) hostConfig(l messages.Limits, mnts map[string]string) *container.HostConfig {
	hc := &container.HostConfig{
		NetworkMode: "none",
		// Writable: the tmpfs mounts only, each with its size.
		ReadonlyRootfs: true,
		Tmpfs:          mnts,
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
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
		// result.json may need.
		fsize := max(l.Disk<<20, contract.MaxResultBytes(l.Output)+1<<20)
		hc.Ulimits = append(hc.Ulimits, &container.Ulimit{Name: "fsize", Soft: fsize, Hard: fsize})
	}
	if l.Processes > 0 {
		p := l.Processes
		hc.PidsLimit = &p
	}
	return hc
}

// kill sends SIGKILL; a container already stopped or gone is fine.
func (r *Runtime) kill(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := r.api.ContainerKill(ctx, id, "KILL"); err != nil && !errdefs.IsNotFound(err) && !errdefs.IsConflict(err) {
		r.log.Debug("kill container", "container", id, "err", err)
	}
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

// waitInspect polls the container until it stops (after a broken wait) and
// returns its exit code, or kills it when ctx ends.
func (r *Runtime) waitInspect(ctx context.Context, id string) int64 {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		actx, cancel := r.apiCtx(context.WithoutCancel(ctx))
		ins, err := r.api.ContainerInspect(actx, id)
		cancel()
		if err != nil || ins.State == nil || !ins.State.Running {
			if err == nil && ins.State != nil {
				return int64(ins.State.ExitCode)
			}
			return -1
		}
		select {
		case <-ctx.Done():
			r.kill(id)
			return -1
		case <-t.C:
		}
	}
}
