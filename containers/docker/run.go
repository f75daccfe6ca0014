package docker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"

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

// sshMargin is added to the SSH bounds for the container's own limits, so
// that the helper ends a session with its clear text first.
const sshMargin = time.Minute

// sshLimits are the limits of an SSH job's grading container. As
// INGInious: an SSH session has its own bounds, not the task's wall time.
// A debug "ssh" job's container is the session (a teacher's shell): both
// its times are the session's bound. A docker-ssh job's run file only
// waits while ssh_student's session runs in a student container, so it
// keeps the task's CPU time and gets the session's wall time: before, it
// got 31 minutes of CPU too, and a docker-ssh job that never called
// ssh_student (a frontend's own task: its type is the frontend's
// choice) burnt them whatever its task.yaml, the HTTP API's
// api.frontend-max-limits and agent.max-limits said.
func sshLimits(job *containers.Job, maxSession time.Duration) messages.Limits {
	l := job.Limits
	t := (maxSession + sshMargin).Seconds()
	l.HardTime = t
	if job.Desc.Debug == messages.DebugSSH {
		l.Time = t
	}
	return l
}

// attempt is an attempt planned: everything its containers are made of,
// decided once and read by every step after.
type attempt struct {
	job       *containers.Job // the SSH bounds applied to its limits
	ev        containers.Events
	image     string // the image id
	input     []byte // input.json, in the tar written to the helper's stdin
	inputLen  int64  // input.json's size
	commonLen int64  // the course's common files' size
	maxResult int64  // contract.MaxResultBytes(Limits.Output)
	ssh       bool   // an SSH debug job or of type docker-ssh
}

// running is an attempt's container while it runs.
type running struct {
	id      string
	pid     int    // its init process (warm containers: when taken)
	volume  string // the /task/student volume
	oom     *oomWatch
	att     *attached
	stdout  *muxReader
	stderr  *boundedBuffer
	ch      *jobChannel
	meter   *meter    // what it uses, read while it runs (usage.go)
	warm    bool      // taken from the pool: started before the job
	started time.Time // cold: the start returned; warm: the hand-over
	stopped time.Time // when the wait returned
	// state is the stopped container's, inspected once (stoppedState).
	state     *container.State
	inspected bool
	undo      []func() // run in reverse order by close
}

func (c *running) onClose(f func()) { c.undo = append(c.undo, f) }

// close stops and removes everything the attempt made.
func (c *running) close() {
	for i := len(c.undo) - 1; i >= 0; i-- {
		c.undo[i]()
	}
}

// Run runs one attempt in a new container; see containers.Runtime. It
// plans the attempt, launches its container, waits for it to stop (or
// kills it), then collects the result. With a result, the stopped
// container is removed in the background (reaping); on an error, before
// Run returns.
func (r *Runtime) Run(ctx context.Context, job *containers.Job, ev containers.Events) (messages.JobResult, error) {
	if ctx.Err() != nil {
		return messages.JobResult{}, fmt.Errorf("before create: %w", context.Cause(ctx))
	}
	a, err := r.plan(ctx, job, ev)
	if err != nil {
		return messages.JobResult{}, err
	}
	c := &running{}
	reaped := false
	defer func() {
		if !reaped {
			c.close()
		}
	}()
	// A warm container of the pool when one fits, else a cold start:
	// the container is the same either way (see "Warm pool").
	if ok, err := r.launchWarm(ctx, a, c); err != nil {
		return messages.JobResult{}, err
	} else if !ok {
		if err := r.launch(ctx, a, c); err != nil {
			return messages.JobResult{}, err
		}
	}
	// An OOM kill seen kills the container: the result is overflow
	// whatever the run file does next (as INGInious, which kills it on the
	// event).
	l := a.job.Limits
	st := r.waitStopped(ctx, c.id, c.att, c.meter, l.Time, l.HardTime, c.oom.hit, c.oom)
	c.stopped = time.Now()
	if st.ended {
		return messages.JobResult{}, fmt.Errorf("while running: %w", context.Cause(ctx))
	}
	r.log.Debug("container stopped", "container", c.id, "exit", st.exit, "wall", time.Since(c.started))
	res, err := r.collect(ctx, a, c, st)
	if err == nil {
		res.Usage = r.usage(ctx, c)
		// The result is final and the container stopped: removing it
		// (tens of ms on fuse-overlayfs) need not delay the result. The
		// runtime still owns the removal: Close waits for it, and what a
		// failed one leaves Cleanup removes. Errors (a kill) keep it
		// before Run returns.
		reaped = true
		ref := a.job.Ref()
		r.reapingRefs.Store(ref, true) // not a leftover for Cleanup
		r.reaping.Go(func() {
			c.close()
			r.reapingRefs.Delete(ref)
		})
	}
	return res, err
}

// plan checks what the job asks of this agent and decides its attempt:
// the SSH bounds, the image, the files, the result's bound.
func (r *Runtime) plan(ctx context.Context, job *containers.Job, ev containers.Events) (*attempt, error) {
	sshJob := job.Desc.Debug == messages.DebugSSH || job.Desc.EnvironmentType == EnvTypeSSH
	switch t := job.Desc.EnvironmentType; {
	case t == EnvTypeSSH && !r.opts.SSH.Enabled():
		return nil, failure(fmt.Sprintf("The environment type '%s' is not available on this agent", t), nil)
	case t != EnvType && t != EnvTypeSSH && t != "":
		return nil, failure(fmt.Sprintf("The environment type '%s' is not available on this agent", t), nil)
	case job.Desc.Debug == messages.DebugSSH && !r.opts.SSH.Enabled():
		return nil, failure("SSH debug is not enabled on this agent", nil)
	}
	if job.Desc.Debug == messages.DebugSSH {
		// Its sessions hold every port, each for up to
		// agent.ssh.max-session: hand the attempt back before making a
		// container rather than end the job as crash after a container
		// start. The backend offers it again at once to an agent with a
		// free slot, which may be this one: within backend.max-attempts
		// that is a chance for another agent, not a wait for a port. A
		// port taken between now and the helper's asking still ends it
		// so (sshRelay).
		if full, why := r.ports.full(); full {
			return nil, &containers.Failure{Requeue: true, Public: "[SSH Debug] No SSH port was free: " + why + "; retry later"}
		}
	}
	a := &attempt{job: job, ev: ev, maxResult: contract.MaxResultBytes(job.Limits.Output), ssh: sshJob}
	var ssh *channel.SSHLimits
	if sshJob {
		j := *job
		j.Limits = sshLimits(job, r.opts.SSH.MaxSession)
		a.job = &j
		ssh = r.opts.SSH.limits()
	}
	var err error
	if a.image, err = r.image(ctx, job.Desc.Environment); err != nil {
		return nil, err
	}
	if a.input, a.commonLen, err = containerTar(ctx, a.job, ssh); err != nil {
		return nil, err
	}
	a.inputLen = int64(len(a.input))
	return a, nil
}

// launch makes the attempt's volume and container into c, watches it for
// OOM kills from its creation on, attaches, starts it and sends its files.
// Create and start run on contexts the job's cancellation does not cut
// short (a create cut mid-way may still make a container we would not
// know of); the cancellation is checked after each step instead.
func (r *Runtime) launch(ctx context.Context, a *attempt, c *running) error {
	// The warm pool's refill waits while a cold start is under way: the
	// job waiting for it comes first.
	r.launching.Add(1)
	defer r.launching.Add(-1)
	if err := r.prepare(ctx, a.spec(r), c); err != nil {
		return err
	}
	return r.handOver(ctx, a, c, r.initPid(ctx, c.id))
}

// prepare makes a grading container of spec s into c: its volume, the
// container, its OOM watch (from its creation on), the attach (stdin,
// stdout, stderr), and starts it. The helper then waits for its files on
// stdin. Cold starts and the warm pool both make containers so.
func (r *Runtime) prepare(ctx context.Context, s containerSpec, c *running) error {
	// The /task/student folder is a volume the job's student containers
	// share (a tmpfs too, sized as /task), made by the create. Removed
	// after the container, also when the create failed after making it.
	volume := newVolumeName()
	c.volume = volume
	c.onClose(func() { r.removeVolume(volume) })
	created := time.Now()
	var err error
	if c.id, err = r.create(s, volume); err != nil {
		return err
	}
	c.onClose(func() { r.remove(c.id) })
	// From now on: an OOM kill of any of its processes is an overflow.
	c.oom = r.watchOOM(ctx, c.id, created)
	c.onClose(c.oom.stop)
	if ctx.Err() != nil {
		return fmt.Errorf("while creating the container: %w", context.Cause(ctx))
	}

	// Attach before the start: the files go in on stdin (the tmpfs mounts
	// exist only once it runs, and the copy API cannot write into them),
	// then stdin and stdout carry the channel (containers/channel).
	c.stdout = newMuxReader()
	c.stderr = &boundedBuffer{max: maxStderrBytes}
	if c.att, err = r.attach(ctx, c.id, c.stdout, c.stderr, c.stdout.closeMux); err != nil {
		return failure("The grading container could not be attached to", err)
	}
	c.onClose(c.att.close)
	if ctx.Err() != nil {
		return fmt.Errorf("while creating the container: %w", context.Cause(ctx))
	}
	if err := r.start(ctx, c.id); err != nil {
		return failure("The grading container could not start", err)
	}
	c.started = time.Now()
	// Before its files: only the helper runs yet.
	r.boundTCP(c.id, gradingMemory(s.limits))
	return nil
}

// handOver gives the started container c (its init process pid) to
// attempt a: the channel, the start reported, the OOM counter polled, the
// files written to the waiting helper's stdin.
func (r *Runtime) handOver(ctx context.Context, a *attempt, c *running, pid int) error {
	c.ch = newJobChannel(r, a, c.id, c.volume)
	c.onClose(c.ch.close)
	// Before the channel opens: the result's arrival reads the meter.
	c.meter = r.newMeter(c.id, pid)
	c.ch.meter = c.meter
	if ctx.Err() != nil {
		return fmt.Errorf("while starting the container: %w", context.Cause(ctx))
	}
	containers.ReportStarted(a.ev)
	c.oom.countKills(r, c.id, pid)
	c.ch.oom = c.oom
	go r.pollCgroup(c.oom, c.id)
	r.sendFiles(a, c)
	if c.warm {
		c.started = time.Now()
	}
	return nil
}

// sendFiles writes the attempt's tar to the container's stdin, and opens
// the channel once the helper's marker came (it has read the whole tar):
// nothing else is written to stdin before it.
func (r *Runtime) sendFiles(a *attempt, c *running) {
	tarSent := make(chan struct{})
	go func() {
		defer close(tarSent)
		// A container that stopped early makes this fail, which the
		// result tells better. stdin stays open: it carries the channel.
		if _, err := writeContainerTar(c.ch.ctx, c.att.conn.Conn, a.job, a.input); err != nil {
			r.log.Debug("writing the task files to the container", "container", c.id, "err", err)
		}
	}()
	go func() {
		select {
		case <-c.stdout.muxStarted:
		case <-c.ch.ctx.Done():
			return
		}
		<-tarSent
		r.log.Debug("container channel open", "container", c.id)
		if err := c.ch.start(c.stdout.muxIn, c.att.conn.Conn); err != nil {
			r.log.Warn("container channel", "container", c.id, "err", err)
		}
	}()
}

// collect decides the result of a stopped attempt (how its wait ended:
// st): overflow, then the runtime's timeout, then the result the helper
// sent over the channel.
func (r *Runtime) collect(ctx context.Context, a *attempt, c *running, st stopped) (messages.JobResult, error) {
	// Overflow wins over timeout: a process killed by the OOM killer may
	// also have used its time.
	if c.oom.killed() || (!c.stoppedEarly() && r.stoppedState(ctx, c).OOMKilled) {
		return ownResult(a.job, messages.StatusOverflow, textOverflow), nil
	}
	switch st.verdict {
	case verdictCPU:
		return ownResult(a.job, messages.StatusTimeout, textTimeout), nil
	case verdictHard:
		return ownResult(a.job, messages.StatusTimeout, textHardTime), nil
	}
	if text := c.ch.endedText(); text != "" {
		return ownResult(a.job, messages.StatusCrash, text), nil
	}
	// The attach stream ends with the container; give it a moment to
	// drain, then give up on it.
	if err := c.att.drain(ctx); ctx.Err() != nil {
		return messages.JobResult{}, fmt.Errorf("while reading the result: %w", context.Cause(ctx))
	} else if err != nil {
		r.log.Debug("container attach stream", "container", c.id, "err", err)
	}
	if c.stderr.buf.Len() > 0 {
		r.log.Debug("container stderr", "container", c.id, "stderr", c.stderr.buf.String())
	}
	data, err := c.ch.takenResult()
	switch {
	case errors.Is(err, channel.ErrResultTooLarge):
		return ownResult(a.job, messages.StatusError,
			fmt.Sprintf("The grader's result is larger than the bound of %d bytes for an output limit of %d bytes.", a.maxResult, a.job.Limits.Output)), nil
	case err != nil:
		r.log.Debug("no result over the channel", "container", c.id, "err", err)
		// Killed by SIGKILL, and not by the agent: most likely the OOM
		// killer took the helper. A grader whose memory is files (tmpfs
		// pages count to no process) leaves the helper the largest
		// process, and its "oom" event and OOMKilled flag may come after
		// the exit.
		if st.exit == 128+9 && r.awaitOOMKilled(ctx, c.id) {
			return ownResult(a.job, messages.StatusOverflow, textOverflow), nil
		}
		if ctx.Err() != nil {
			// Killed (or the agent stops) while waiting: the job's
			// cause, not a crash.
			return messages.JobResult{}, fmt.Errorf("while reading the result: %w", context.Cause(ctx))
		}
		return ownResult(a.job, messages.StatusCrash, textNoResult), nil
	}
	res, err := jobResult(data, a.job.Desc.Debug)
	if errors.Is(err, errTooManyValues) {
		return ownResult(a.job, messages.StatusError, containers.TextTooManyValues), nil
	}
	if err != nil {
		return ownResult(a.job, messages.StatusCrash, "The grading container gave a result that cannot be read."), nil
	}
	return res, nil
}

// stoppedEarly reports whether the wait of c ended at its "die" event,
// with a whole result read before, and the cgroup's oom_kill counter read
// (successfully) when it came: then nothing is asked of the stopped container
// (stoppedState), whose inspect the daemon answers only after its cleanup
// (15-20 ms on fuse-overlayfs), and the result goes at once. The counter
// read at the result saw every OOM kill of the grading (oomWatch.readResult);
// the "oom" events cannot be relied on alone, since on a loaded machine
// one came after the "die", and State.OOMKilled is the daemon's record of
// the same events, so an agent without the host's cgroup tree asks it
// (later, it may have heard). The wall time is measured up to the result
// (usage).
func (c *running) stoppedEarly() bool {
	return c.oom != nil && c.oom.readAtResult.Load() && c.oom.dieSeen() && c.ch != nil && !c.ch.resultTime().IsZero()
}

// stoppedState is the stopped container c's state, from one inspect that
// collect (State.OOMKilled) and usage (StartedAt, FinishedAt) share: the
// daemon answers an inspect only once it has cleaned up after the exit,
// so each costs the same wait. A zero State when the inspect fails.
func (r *Runtime) stoppedState(ctx context.Context, c *running) *container.State {
	if !c.inspected {
		c.inspected = true
		actx, cancel := r.apiCtx(context.WithoutCancel(ctx))
		defer cancel()
		if ins, err := r.api.ContainerInspect(actx, c.id); err == nil && ins.ContainerJSONBase != nil {
			c.state = ins.State
		}
	}
	if c.state == nil {
		return &container.State{}
	}
	return c.state
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

// containerSpec is everything a grading container is made of: two equal
// specs make the same container, which is what lets a warm one stand in
// for a cold one.
type containerSpec struct {
	image     string
	limits    messages.Limits
	inputLen  int64 // input.json's size (see mounts: a floor applies)
	commonLen int64 // the course's common files (0: no /course mount)
	maxResult int64
	network   bool // network_grading: Options.Network instead of none
	labels    map[string]string
}

// spec is the container of attempt a.
func (a *attempt) spec(r *Runtime) containerSpec {
	return containerSpec{
		image: a.image, limits: a.job.Limits,
		inputLen: a.inputLen, commonLen: a.commonLen, maxResult: a.maxResult,
		network: a.job.Desc.EnvironmentParameters.NetworkGrading,
		labels:  r.labels(a.job, ""),
	}
}

// create makes a grading container of spec s with the /task/student
// volume, which it makes too (studentDirVolume).
func (r *Runtime) create(s containerSpec, volume string) (string, error) {
	l := s.limits
	cfg := &container.Config{
		Image:      s.image,
		User:       fmt.Sprintf("%d:%d", workerID, workerID),
		WorkingDir: contract.TaskDir,
		// The files come on stdin (one tar), then stdin and stdout carry
		// the channel.
		OpenStdin:    true,
		StdinOnce:    true,
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
		Labels:       s.labels,
	}
	ms := mounts(l, s.inputLen, s.maxResult)
	if s.commonLen > 0 {
		// The course's common files, which the helper unpacks there.
		ms = append(ms, tmpfsMount{path: contract.CourseDir, size: s.commonLen, mode: "0755", owned: true, exec: true})
	}
	mnts, _ := tmpfs(ms)
	hc := r.hostConfig(l, s.maxResult, mnts)
	if s.network {
		hc.NetworkMode = container.NetworkMode(r.opts.Network)
	}
	if volume != "" {
		hc.Mounts = studentDirVolume(volume, l, withRole(s.labels, "student-dir"))
	}
	if m := gradingMemory(l); m > 0 {
		// The tmpfs mounts count inside (their pages are charged to the
		// writer's cgroup): a job holds its memory limit, not that plus
		// its disk; a grader filling its disk may be an overflow.
		r.setMemory(hc, m)
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
