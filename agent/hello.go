package agent

import (
	"context"
	"reflect"
	"time"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/messages"
)

// hello registers the agent with the backend, or registers it again, then
// sends again every unanswered result sent before it: a backend that just
// learnt about the agent is the one most likely to have missed them. Not
// those kept since: they reach the backend after the hello, and sending
// them twice made a backend that answers each result with a job
// over-commit the agent.
func (a *Agent) hello() {
	a.mu.Lock()
	before, hook := time.Now(), a.onHelloSent
	running := sortedKeys(a.attempts)
	for _, k := range sortedKeys(a.results) {
		if a.attempts[k] == nil {
			running = append(running, k)
		}
	}
	m := &messages.AgentHello{
		ProtocolVersion:   messages.ProtocolVersion,
		FriendlyName:      a.cfg.Name,
		AvailableJobSlots: a.cfg.Slots,
		// Never mutated once stored (setEnvironments swaps the whole
		// map), so it may be encoded after the lock is released.
		AvailableEnvironments: a.envs,
		Session:               a.session,
		RunningJobs:           running,
		LastJobSeq:            a.lastSeq,
	}
	if a.stopping {
		m.AvailableJobSlots = 0
	}
	a.mu.Unlock()

	a.stats.hellos.Add(1)
	a.send(m)
	if hook != nil {
		hook()
	}
	a.resend(before)
}

// requestHello asks Run's loop to say hello (from any goroutine).
func (a *Agent) requestHello() { wake(a.helloReq) }

// ping is the heartbeat; the answer is Pong, or Unknown.
func (a *Agent) ping() {
	a.stats.pings.Add(1)
	a.send(&messages.Ping{Session: a.session})
}

// send sends m to the backend (publish). A failure is logged and counted:
// hellos and results are retried by their own timers, and the rest is
// answered to by the backend's timeouts.
func (a *Agent) send(m messages.Message) bool {
	data, err := natsconn.Encode(a.nc, m)
	if err == nil {
		err = a.publish(data)
	}
	if err != nil {
		a.stats.sendErrors.Add(1)
		a.log.Warn("send failed", "message", m.MessageName(), "err", err)
		return false
	}
	return true
}

// setEnvironments stores envs and reports whether they differ from the
// previous set.
// What the backend would refuse is left out: one grading image of an odd
// name must not keep every other one, and all the slots, idle.
func (a *Agent) setEnvironments(envs map[string]map[string]messages.EnvironmentInfo) bool {
	envs, dropped := messages.FitEnvironments(envs)
	a.mu.Lock()
	defer a.mu.Unlock()
	if reflect.DeepEqual(a.envs, envs) {
		return false
	}
	a.envs = envs
	if len(dropped) > 0 {
		a.log.Warn("environments not offered: the backend takes types and names of 1 to 256 bytes, and 1,024 environments at most",
			"left_out", len(dropped), "first", dropped[:min(len(dropped), 5)])
	}
	return true
}

// offers reports whether the runtime offered environment typ/name when it
// was last asked.
func (a *Agent) offers(typ, name string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.envs[typ][name]
	return ok
}

// watchEnvironments asks the runtime for its environments each time they
// may have changed, and says hello when they did. It ends with ctx. A
// failed listing keeps the previous set until the next change.
func (a *Agent) watchEnvironments(ctx context.Context) {
	changes := a.rt.Changes()
	if changes == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-changes:
		}
		envs, err := a.rt.Environments(ctx)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Error("list environments failed; keeping the previous ones", "err", err)
			}
			continue
		}
		if a.setEnvironments(envs) {
			a.log.Info("environments changed", "types", len(envs))
			a.requestHello()
		}
	}
}

// cleanLoop calls Runtime.Cleanup every CleanupInterval, and when the
// backend has just accepted this process. It ends with ctx.
func (a *Agent) cleanLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.CleanupInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.cleanNow:
		}
		a.cleanup(ctx)
	}
}

// cleanup removes what this process's attempts no longer need, and what
// dead processes of this agent id (in this installation) left, while the
// backend holds this one as the registered process: it would not, were
// another one alive. Containers of live agents are never touched.
func (a *Agent) cleanup(ctx context.Context) {
	others := a.registered()
	removed, err := a.rt.Cleanup(ctx, containers.CleanupRequest{
		Installation: a.cfg.Installation, Session: a.session, Keep: a.isRunning, Others: others,
	})
	if err != nil && ctx.Err() == nil {
		a.log.Error("runtime cleanup failed", "err", err)
	}
	if len(removed) > 0 {
		a.log.Warn("removed leftovers: of attempts this process does not run, or of dead processes of this agent", "attempts", removed, "other_processes", others)
	}
}

func (a *Agent) isRunning(k messages.JobAttempt) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.attempts[k] != nil
}
