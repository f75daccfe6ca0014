package backend

import (
	"fmt"
	"slices"
	"sort"

	"github.com/ingo-grader/ingo/messages"
)

// snapshot is the queue as an admin sees it: running jobs in dispatch
// order, waiting jobs in the order they would be dispatched if every agent
// offered every environment, each with its position in its own queue and
// why it waits. A frontend (not admin) sees its own jobs only; their
// positions still count everybody's.
func (b *Backend) snapshot(forClient string, admin bool) *messages.BackendGetQueue {
	out := &messages.BackendGetQueue{JobsRunning: []messages.QueueRunningJob{}, JobsWaiting: []messages.QueueWaitingJob{}, Agents: []messages.QueueAgent{}}
	var running, waiting []*job
	for _, j := range b.jobs {
		if j.phase == phaseWaiting {
			waiting = append(waiting, j)
		} else {
			running = append(running, j)
		}
	}
	sort.Slice(running, func(x, y int) bool { return running[x].dispatchSeq < running[y].dispatchSeq })
	for _, j := range running {
		if !admin && j.clientID != forClient {
			continue
		}
		out.JobsRunning = append(out.JobsRunning, messages.QueueRunningJob{
			JobID: j.id(), IsMine: j.clientID == forClient, Agent: b.agentName(j.agentID), AgentID: j.agentID,
			Info: j.msg.Info(), Launcher: j.msg.Launcher, StartedAt: j.assignedAt.UnixMilli(), MaxTime: j.maxTime(),
			Attempt: j.attempt, EnvironmentType: j.msg.EnvironmentType, Environment: j.msg.Environment, Killing: j.killing,
		})
	}
	sort.Slice(waiting, func(x, y int) bool { return waiting[x].before(waiting[y]) })
	positions := map[topic]int{}
	best := map[topic]int{} // priority of the head of each topic
	offered := map[topic]bool{}
	for _, j := range waiting {
		t := j.topic()
		positions[t]++
		if positions[t] == 1 {
			best[t] = j.msg.Priority
			offered[t] = b.offered(t)
		}
		reason := messages.WaitQueued
		switch {
		case !offered[t]:
			reason = messages.WaitNoAgent
		case positions[t] == 1:
			reason = messages.WaitSlotsBusy
		case best[t] < j.msg.Priority:
			reason = messages.WaitLowerPriority
		}
		if !admin && j.clientID != forClient {
			continue
		}
		out.JobsWaiting = append(out.JobsWaiting, messages.QueueWaitingJob{
			JobID: j.id(), IsMine: j.clientID == forClient, Info: j.msg.Info(), Launcher: j.msg.Launcher,
			MaxTime: j.maxTime(), Priority: j.msg.Priority, QueuedAt: j.queuedAt.UnixMilli(),
			EnvironmentType: j.msg.EnvironmentType, Environment: j.msg.Environment,
			Position: positions[t], Reason: reason, Attempt: j.attempt,
		})
	}
	for _, a := range b.agents {
		envs := make([]string, 0, len(a.topics))
		for _, t := range a.topics {
			envs = append(envs, fmt.Sprint(t))
		}
		slices.Sort(envs)
		out.Agents = append(out.Agents, messages.QueueAgent{AgentID: a.id, Name: a.name, Slots: a.slots,
			Running: len(a.running), Environments: envs, LastSeen: a.lastSeen.UnixMilli()})
	}
	slices.SortFunc(out.Agents, func(x, y messages.QueueAgent) int {
		if x.Name != y.Name {
			if x.Name < y.Name {
				return -1
			}
			return 1
		}
		if x.AgentID < y.AgentID {
			return -1
		}
		return 1
	})
	return out
}
