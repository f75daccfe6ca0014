package docker

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// dieFake sends, on a container's event stream, its "die" event with exit
// status 3 (broken: the stream fails instead), never answers the wait, and
// answers inspects with a state that says OOMKilled, counting them.
type dieFake struct {
	inspectFake
	broken bool
}

func (f *dieFake) Events(ctx context.Context, o events.ListOptions) (<-chan events.Message, <-chan error) {
	msgs, errs := make(chan events.Message, 1), make(chan error, 1)
	switch {
	case !o.Filters.Contains("container"):
	case f.broken:
		errs <- errors.New("events: connection reset")
	default:
		msgs <- events.Message{Type: events.ContainerEventType, Action: events.ActionDie,
			Actor: events.Actor{ID: "c1", Attributes: map[string]string{"exitCode": "3"}}}
	}
	return msgs, errs
}

// stoppedContainer is a grading container c1 whose helper sent a whole
// result 1.5 s after its start, as the wait of Run leaves it to collect;
// its cgroup's oom_kill counter, read then, said 0.
func stoppedContainer(r *Runtime) (*running, time.Time) {
	start := time.Now().Add(-2 * time.Second)
	c := &running{id: "c1", started: start, stderr: &boundedBuffer{max: 1}}
	c.oom = r.watchOOM(context.Background(), c.id, start)
	c.oom.kills = func() (int64, error) { return 0, nil }
	c.oom.readAtResult.Store(true)
	c.att = &attached{exited: make(chan container.WaitResponse), waitErr: make(chan error), copied: make(chan error, 1)}
	c.att.copied <- nil // the attach stream ended
	c.ch = &jobChannel{result: make(chan channelResult, 1), resultAt: start.Add(1500 * time.Millisecond)}
	c.ch.result <- channelResult{data: []byte(`{"result": "success", "grade": 100}`)}
	return c, start
}

// TestWaitStopped_EndsAtTheDieEvent: the "die" event ends the wait of a
// grading container with its exit status, though the daemon has not
// answered the wait (it does only after its cleanup, 15-20 ms later); the
// result then goes without an inspect of the stopped container, its wall
// time measured from the start to the result.
func TestWaitStopped_EndsAtTheDieEvent(t *testing.T) {
	t.Parallel()
	f := &dieFake{inspectFake: inspectFake{fakeAPI: fakeAPI{events: blockEvents}, state: &container.State{OOMKilled: true}}}
	r := newRuntime(f, quiet())
	defer r.Close()
	c, _ := stoppedContainer(r)
	defer c.oom.stop()
	done := make(chan stopped, 1)
	go func() { done <- r.waitStopped(t.Context(), c.id, c.att, nil, 0, 0, nil, c.oom) }()
	select {
	case st := <-done:
		if st.exit != 3 || st.ended || st.verdict != verdictNone {
			t.Errorf("waitStopped = %+v, want exit 3", st)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the wait did not end at the die event")
	}
	a := &attempt{job: newJob(r, nil, nil), maxResult: 1 << 20}
	res, err := r.collect(t.Context(), a, c, stopped{exit: 3})
	if err != nil || res.Result.Status != messages.StatusSuccess || res.Grade != 100 {
		t.Errorf("collect = %+v, %v; want the helper's success", res, err)
	}
	if u := r.usage(t.Context(), c); u == nil || u.WallTime != 1.5 {
		t.Errorf("usage = %+v, want a wall time of 1.5 s (start to result)", u)
	}
	if n := f.inspects.Load(); n != 0 {
		t.Errorf("%d inspects of the stopped container, want none", n)
	}
}

// TestCollect_InspectsWithoutTheDieEvent: when the event stream broke, the
// "oom" events may be lost too, so the stopped container's State.OOMKilled
// is asked, once, and tells an overflow; the wall time is the daemon's.
func TestCollect_InspectsWithoutTheDieEvent(t *testing.T) {
	t.Parallel()
	f := &dieFake{broken: true, inspectFake: inspectFake{fakeAPI: fakeAPI{events: blockEvents}, state: &container.State{
		OOMKilled: true, StartedAt: "2026-01-02T03:04:05Z", FinishedAt: "2026-01-02T03:04:07Z"}}}
	r := newRuntime(f, quiet())
	defer r.Close()
	c, _ := stoppedContainer(r)
	defer c.oom.stop()
	a := &attempt{job: newJob(r, nil, nil), maxResult: 1 << 20}
	res, err := r.collect(t.Context(), a, c, stopped{exit: 3})
	if err != nil || res.Result.Status != messages.StatusOverflow {
		t.Errorf("collect = %+v, %v; want overflow from State.OOMKilled", res, err)
	}
	if u := r.usage(t.Context(), c); u == nil || u.WallTime != 2 {
		t.Errorf("usage = %+v, want the daemon's wall time of 2 s", u)
	}
	if n := f.inspects.Load(); n != 1 {
		t.Errorf("%d inspects, want 1", n)
	}
}

// TestCollect_InspectsWithoutTheCounter: the "die" event came after a whole
// result, but no oom_kill counter was read at the result (an agent without
// the host's cgroup tree, or a read that failed: the container was killed
// as the result came); an "oom" event may come after the "die", so the
// stopped container's State.OOMKilled is asked, and tells an overflow.
func TestCollect_InspectsWithoutTheCounter(t *testing.T) {
	t.Parallel()
	f := &dieFake{inspectFake: inspectFake{fakeAPI: fakeAPI{events: blockEvents}, state: &container.State{OOMKilled: true}}}
	r := newRuntime(f, quiet())
	defer r.Close()
	c, _ := stoppedContainer(r)
	c.oom.readAtResult.Store(false)
	defer c.oom.stop()
	<-c.oom.exited // the "die" event came
	a := &attempt{job: newJob(r, nil, nil), maxResult: 1 << 20}
	res, err := r.collect(t.Context(), a, c, stopped{exit: 3})
	if err != nil || res.Result.Status != messages.StatusOverflow {
		t.Errorf("collect = %+v, %v; want overflow from State.OOMKilled", res, err)
	}
	if n := f.inspects.Load(); n != 1 {
		t.Errorf("%d inspects, want 1", n)
	}
}

// lateFlagFake answers inspects with State.OOMKilled false until its
// inspect number late, true from then on: the daemon heard of the OOM
// kill after the container's exit.
type lateFlagFake struct {
	fakeAPI
	late     int32
	inspects atomic.Int32
	// onInspect, when set, is called with each inspect's number.
	onInspect func(n int32)
}

func (f *lateFlagFake) ContainerInspect(context.Context, string) (container.InspectResponse, error) {
	n := f.inspects.Add(1)
	if f.onInspect != nil {
		f.onInspect(n)
	}
	return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{State: &container.State{OOMKilled: n >= f.late}}}, nil
}

// TestCollect_HelperKilledWithoutAResult: a grading container that stopped
// by SIGKILL, not the agent's, without a result lost its helper, most
// likely to the OOM killer (a grader whose memory is files in its tmpfs
// leaves the helper the largest process); the daemon's word of it may come
// after the exit, and is waited for. Another exit without a result is a
// crash at once.
func TestCollect_HelperKilledWithoutAResult(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		exit int64
		late int32 // the inspect that first says OOMKilled (0: the first)
		want messages.Status
		asks bool // more than one inspect
	}{
		{"flag-after-the-exit", 137, 3, messages.StatusOverflow, true},
		{"flag-at-once", 137, 0, messages.StatusOverflow, false},
		{"sigkill-no-oom", 137, 1 << 30, messages.StatusCrash, true},
		{"other-exit", 2, 1 << 30, messages.StatusCrash, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &lateFlagFake{fakeAPI: fakeAPI{events: blockEvents}, late: tt.late}
			res, err := collectWithoutResult(t, t.Context(), f, tt.exit)
			if err != nil || res.Result.Status != tt.want {
				t.Errorf("collect = %s %q, %v; want %s", res.Result.Status, res.Result.Text, err, tt.want)
			}
			if n := f.inspects.Load(); (n > 1) != tt.asks {
				t.Errorf("%d inspects; want more than one: %v", n, tt.asks)
			}
		})
	}
}

// TestCollect_KilledWhileWaitingForTheOOMWord: a job killed while its
// SIGKILLed container's OOM word is waited for ends with the kill, not
// as a crash (before, "stopped without a result").
func TestCollect_KilledWhileWaitingForTheOOMWord(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancelCause(t.Context())
	f := &lateFlagFake{fakeAPI: fakeAPI{events: blockEvents}, late: 1 << 30, onInspect: func(n int32) {
		if n == 2 { // the first inspect of the wait, after collect's own
			cancel(containers.ErrKilled)
		}
	}}
	if res, err := collectWithoutResult(t, ctx, f, 137); !errors.Is(err, containers.ErrKilled) {
		t.Errorf("collect = %s, %v; want the kill", res.Result.Status, err)
	}
}

// collectWithoutResult is collect of a grading container (on the daemon
// api) that stopped with exit status exit and sent no result.
func collectWithoutResult(t *testing.T, ctx context.Context, api dockerAPI, exit int64) (messages.JobResult, error) {
	t.Helper()
	r := newRuntime(api, quiet())
	defer r.Close()
	c, _ := stoppedContainer(r)
	defer c.oom.stop()
	<-c.ch.result // no result came
	a := &attempt{job: newJob(r, nil, nil), maxResult: 1 << 20}
	return r.collect(ctx, a, c, stopped{exit: exit})
}
