package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/hashicorp/yamux"

	"github.com/ingo-grader/ingo/containers/channel"
	"github.com/ingo-grader/ingo/containers/helper/contract"
	"github.com/ingo-grader/ingo/messages"
)

// studentTaskBytes sizes a student container's /task: it only holds the
// mount point of /task/student.
const studentTaskBytes = 1 << 20

// helperPath is where images have the helper (containers/helper).
const helperPath = "/usr/local/bin/ingo-helper"

// capLimit is a student's limit: the grading container's when v is 0 (or
// not positive), never above it.
func capLimit[T int64 | float64](v, parent T) T {
	if v <= 0 || (parent > 0 && v > parent) {
		return parent
	}
	return v
}

// runStudent serves one run_student or ssh_student call: ctl is its
// KindStudent stream. It always ends with one EventExit.
func (c *jobChannel) runStudent(ctl *yamux.Stream, h channel.Header) {
	defer c.drop(ctl)
	exit := func(code int, reason string) {
		_ = channel.WriteLine(ctl, channel.Event{Event: channel.EventExit, Code: code, Reason: reason})
	}
	k := c.watchControls(ctl)
	defer close(k.done)
	req := h.Student
	if req == nil {
		exit(channel.CodeLaunch, "no request")
		return
	}
	if req.SSH {
		switch {
		case c.job.Desc.EnvironmentType != EnvTypeSSH:
			// INGInious' agent ends such a job as crash with this text
			// (the task does not allow SSH: its teacher must see why)
			// rather than let the run file grade a student who could
			// not log in.
			c.endJob(textSSHNotAllowed)
			exit(channel.CodeLaunch, "ssh_student needs a task of environment type "+EnvTypeSSH)
			return
		case !c.r.opts.SSH.Enabled():
			// The operator's doing, not the task's: said so. (Such an
			// agent refuses docker-ssh jobs before they start.)
			c.endJob(textSSHNotOnAgent)
			exit(channel.CodeLaunch, "SSH is not enabled on this agent")
			return
		case !c.sshSent.CompareAndSwap(false, true):
			exit(channel.CodeLaunch, "a job may give one SSH access only")
			return
		}
	}
	select {
	case c.students <- struct{}{}:
		defer func() { <-c.students }()
	case <-c.ctx.Done():
		exit(channel.CodeLaunch, "the job ended")
		return
	case <-k.gone: // the caller left while it waited
		return
	}
	// Only now does the helper open the call's io streams: a call waiting
	// for its slot holds none the agent does not read (each could hold a
	// window, 256 KiB, of what the caller sent). Streams of a call not
	// told so are refused (handle).
	c.mu.Lock()
	c.expected[h.ID] = true
	c.mu.Unlock()
	if channel.WriteLine(ctl, channel.Event{Event: channel.EventReady}) != nil {
		c.mu.Lock()
		delete(c.expected, h.ID)
		c.mu.Unlock()
		return
	}
	in, out, errs, err := c.streams(h.ID, k.gone)
	if err != nil {
		exit(channel.CodeLaunch, err.Error())
		return
	}
	defer c.drop(in)
	defer c.drop(out)
	defer c.drop(errs)
	image := c.image
	if req.Environment != "" {
		if image, err = c.r.image(c.ctx, req.Environment); err != nil {
			exit(channel.CodeLaunch, fmt.Sprintf("the environment '%s' is not available on this agent", req.Environment))
			return
		}
	}
	lim := c.studentLimits(req)
	// Read from the bundle before joinShares takes its lock.
	common := c.studentCommonRoom()
	if common == 0 && c.r.opts.cgroupV1 && lim.memory > 0 {
		// Its helper waits for the tar, and its command with it, until
		// boundTCP is done: a program that made its sockets in its first
		// milliseconds, before the bound, held 570 MiB of TCP buffers
		// from a 32 MiB student container.
		common = gateRoom
	}
	// Its memory comes from the job's: held until the container is gone.
	release, err := c.takeStudentMemory(lim.memory)
	if err != nil {
		exit(channel.CodeLaunch, "the job ended")
		return
	}
	defer release()
	id, err := c.joinShares(func(n int) (string, error) { return c.createStudent(image, req, lim, common, n) })
	if err != nil {
		c.r.log.Warn("student container", "job", c.job.ID(), "err", err)
		exit(channel.CodeLaunch, "the student container could not be created")
		return
	}
	defer c.r.remove(id)
	left := false
	leave := func() {
		if !left {
			left = true
			c.leaveShares(id)
		}
	}
	defer leave()
	code, reason := c.superviseStudent(id, lim, common, req, ctl, k, in, out, errs)
	// It has stopped (or the job ends): its share is the others' before
	// the caller hears of its end (and may start the next call, which
	// would count it still).
	leave()
	// The outputs are closed before the code: a caller reading both to
	// their end loses nothing.
	out.Close()
	errs.Close()
	exit(code, reason)
}

// studentLimits are the effective limits of a student container.
type studentLimits struct {
	time, hard float64
	memory     int64
}

// studentLimits are a call's limits: its own, capped at the grading
// container's.
func (c *jobChannel) studentLimits(req *channel.StudentRequest) studentLimits {
	pl := c.job.Limits
	lim := studentLimits{
		time:   capLimit(req.Time, pl.Time),
		hard:   capLimit(req.HardTime, pl.HardTime),
		memory: capLimit(req.Memory, pl.Memory),
	}
	if req.SSH {
		// The student's session has the SSH bounds (the grading
		// container's hard time still ends everything).
		lim.time, lim.hard = 0, 0
	}
	return lim
}

// createStudent makes the student container of a call, with an n-th of
// the job's CPUs and processes (studentShares), and room for the course's
// common student files (common bytes, 0: none).
func (c *jobChannel) createStudent(image string, req *channel.StudentRequest, lim studentLimits, common int64, n int) (string, error) {
	pl := c.job.Limits
	spec := channel.StudentSpec{Argv: req.Argv, WorkDir: req.WorkDir, Common: common > 0}
	if req.SSH {
		spec.SSH = c.r.opts.SSH.limits()
		spec.SetupScript, spec.TeardownScript = req.SetupScript, req.TeardownScript
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return "", fmt.Errorf("student spec: %w", err)
	}
	cfg := &container.Config{
		Image:      image,
		User:       fmt.Sprintf("%d:%d", workerID, workerID),
		WorkingDir: contract.StudentDir,
		// The spec in the environment: the command line of PID 1 is
		// readable by the student (an ssh_student session read the
		// setup and teardown scripts there), the environment of the
		// helper, not dumpable, is not.
		Entrypoint:   []string{helperPath, "student"},
		Env:          []string{contract.StudentSpecEnv + "=" + string(specJSON)},
		OpenStdin:    true,
		StdinOnce:    true,
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
		Labels:       c.r.labels(c.job, "student"),
	}
	ms := studentMounts(pl)
	if common > 0 {
		// The course's common student files, which the helper unpacks
		// there.
		ms = append(ms, tmpfsMount{path: contract.CourseDir, size: common, mode: "0755", owned: true, exec: true})
	}
	if spec.SetupScript == "" && spec.TeardownScript == "" {
		// And as the argument, which holds nothing the student's code
		// cannot read of its own process, for the helpers of images
		// built before the environment: run_student works with them.
		// With scripts, no argument: such a helper then refuses to
		// start, rather than serve a session without its scripts.
		cfg.Cmd = []string{string(specJSON)}
	}
	mnts, _ := tmpfs(ms)
	hc := c.r.hostConfig(pl, c.maxResult, mnts)
	hc.NetworkMode = "none"
	switch {
	case req.ShareNetwork:
		hc.NetworkMode = container.NetworkMode("container:" + c.grading)
	case req.SSH && c.job.Desc.EnvironmentParameters.NetworkGrading:
		// As INGInious, whose ssh_student needs the task's network and
		// gives the student's container a network of its own: tasks
		// teach curl, git or apt in the session. The SSH session itself
		// comes over the channel, not this network.
		hc.NetworkMode = container.NetworkMode(c.r.opts.Network)
	}
	hc.Mounts = studentDirMount(c.volume)
	if lim.memory > 0 {
		// Its tmpfs mounts and its writes to /task/student inside, as in
		// the grading container; no helper share (see studentBudget).
		c.r.setMemory(hc, lim.memory<<20)
	}
	setShare(hc, pl, c.r.opts.CPUs, n)
	ctx, cancel := context.WithTimeout(context.Background(), c.r.opts.APITimeout)
	defer cancel()
	resp, err := c.r.api.ContainerCreate(ctx, cfg, hc, nil, nil, "")
	if err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	return resp.ID, nil
}

// studentMounts are a student container's tmpfs mounts: /task (the mount
// point of /task/student) and /tmp as the grading container's.
func studentMounts(l messages.Limits) []tmpfsMount {
	return []tmpfsMount{
		{path: contract.TaskDir, size: studentTaskBytes, mode: "0755", owned: true, exec: true},
		tmpMount(diskBytes(l)),
	}
}

// superviseStudent attaches, starts and watches a student container until
// it stops, giving it the course's common student files (when common, their
// room, is not 0), relaying its stdio and the caller's signals, and
// returns its code.
func (c *jobChannel) superviseStudent(id string, lim studentLimits, common int64, req *channel.StudentRequest, ctl *yamux.Stream, k *controls, in, out, errs *yamux.Stream) (int, string) {
	r := c.r
	// stdout: the caller's, or (ssh_student) the student helper's channel.
	var stdoutDst io.Writer = out
	var mux *muxReader
	var onEnd func(error)
	if req.SSH {
		mux = newMuxReader()
		stdoutDst, onEnd = mux, mux.closeMux
	}
	att, err := r.attach(c.ctx, id, stdoutDst, errs, onEnd)
	if err != nil {
		return channel.CodeLaunch, "the student container could not be attached to"
	}
	defer att.close()
	if err := r.start(c.ctx, id); err != nil {
		return channel.CodeLaunch, "the student container could not start"
	}
	// Before the common tar: its helper runs nothing before that.
	r.boundTCP(id, lim.memory<<20)
	if common > 0 {
		if err := c.giveStudentCommon(att.conn.Conn); err != nil {
			r.log.Warn("student container: the course's common student files", "job", c.job.ID(), "container", id, "err", err)
			r.kill(id)
			return channel.CodeLaunch, "the student container could not be given the course's common files"
		}
	}
	_ = channel.WriteLine(ctl, channel.Event{Event: channel.EventStarted, Container: id})

	var relays sync.WaitGroup
	defer relays.Wait()
	rctx, stopRelays := context.WithCancel(c.ctx)
	defer stopRelays()
	if req.SSH {
		relays.Add(1)
		go func() {
			defer relays.Done()
			select {
			case <-mux.muxStarted:
			case <-rctx.Done():
				return
			}
			if !c.serveStudentSSH(rctx, mux.muxIn, att.conn.Conn) {
				r.kill(id) // its helper would wait for its SSH timers
			}
		}()
		// The student's stdin is its channel; the caller's goes nowhere.
		go func() { _, _ = io.Copy(io.Discard, in) }()
	} else {
		// A caller's stdin may never end (a pipe the run file keeps open
		// until run_student returns), and a student that reads none of it
		// fills its pipe: both ends of the relay are cut when the student
		// stopped (or the job ended), and the relay waited for, so that it
		// is over before the stream is dropped (drop clears the deadline).
		relayed := make(chan struct{})
		defer func() {
			_ = in.SetReadDeadline(time.Now())
			_ = att.conn.Conn.SetWriteDeadline(time.Now())
			<-relayed
		}()
		go func() {
			defer close(relayed)
			_, _ = io.Copy(att.conn.Conn, in)
			_ = att.conn.CloseWrite()
		}()
	}

	c.relaySignals(k, id)
	killed := k.gone
	m := r.newMeter(id, r.initPid(c.ctx, id))
	st := r.waitStopped(c.ctx, id, att, m, lim.time, lim.hard, killed, nil)
	c.studentUse.add(r.studentUsage(c.ctx, id, m))
	if st.ended {
		return channel.CodeLaunch, "the job ended"
	}
	_ = att.drain(context.Background())
	// The agent killed it over a limit: that explains a 137, so an OOM
	// kill is asked about once, with no wait for a late flag.
	if st.verdict != verdictNone {
		if r.oomKilled(c.ctx, id) {
			return channel.CodeOverflow, ""
		}
		return channel.CodeTimeout, ""
	}
	if r.studentOOMKilled(c.ctx, id, st.exit) {
		return channel.CodeOverflow, ""
	}
	return int(st.exit), ""
}

// maxStudentSSH is how many ssh_student sessions of one job may hold a
// port at once.
const maxStudentSSH = 1

// serveStudentSSH relays a student container's SSH server (ssh_student)
// over its channel until ctx ends or the channel does. The helper opens one
// stream, its SSH server's; any other is the student's code writing to the
// channel, and ends it (each would take a port of the agent's range): ok
// is false then, and the container is to be stopped.
func (c *jobChannel) serveStudentSSH(ctx context.Context, in io.Reader, out io.Writer) (ok bool) {
	sess, err := yamux.Server(muxConn{in, out}, channel.Config())
	if err != nil {
		return false
	}
	// Close waits for the session's reader, which reads in until it ends:
	// close in first (the attach stream of a container that runs on), or
	// Close waits for ever while the streams' readers, woken by the
	// shutdown but not yet closed, spin.
	end := func() {
		if cl, ok := in.(io.Closer); ok {
			cl.Close()
		}
		sess.Close()
	}
	stop := context.AfterFunc(ctx, end)
	defer stop()
	defer end()
	var wg sync.WaitGroup
	defer wg.Wait()
	for served := false; ; served = true {
		st, err := sess.AcceptStream()
		if err != nil {
			return true
		}
		if served {
			c.r.log.Warn("ssh_student: a second stream on the channel; ending it", "job", c.job.ID(), "container", c.grading)
			st.Close()
			end()
			return false
		}
		h, _, err := channel.ReadHeader(st)
		if err != nil || h.Kind != channel.KindSSHDebug {
			st.Close()
			end()
			return false
		}
		// One session holding a port at a time per job: a run file (a
		// frontend's own task) that started ssh_student in the
		// background, many times over, with small memory limits, held a
		// port each with one slot, and took the agent's range from
		// every other course. Sequential sessions are as many as it
		// likes.
		if c.studentSSH.Add(1) > maxStudentSSH {
			c.studentSSH.Add(-1)
			_ = channel.WriteLine(st, channel.Event{Event: channel.EventExit, Code: channel.CodeLaunch,
				Reason: "ssh_student: this job already serves an SSH session; one at a time"})
			st.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.studentSSH.Add(-1)
			c.r.sshRelay(ctx, st, h, sess, sshReady(c.ev, c.r.opts.SSH.Host, h))
		}()
	}
}

// validSignal accepts the names run_student forwards.
func validSignal(s string) bool {
	switch s {
	case "HUP", "INT", "QUIT", "TERM", "USR1", "USR2", "ALRM", "CONT", "TSTP", "WINCH", "KILL", "PIPE":
		return true
	}
	return false
}
