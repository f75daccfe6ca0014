package backend

import (
	"fmt"
	"strconv"

	"github.com/ingo-grader/ingo/internal/settings"
	"github.com/ingo-grader/ingo/messages"
)

// DefaultMaxSSHDebugPerClient is the default of
// Config.MaxSSHDebugPerClient.
const DefaultMaxSSHDebugPerClient = 2

// An SSH-debug job (debug "ssh") holds a grading slot and one of its
// agent's SSH ports (agent.ssh.port-min to port-max, eleven by default)
// for as long as its session lasts, up to agent.ssh.max-session (30
// minutes). Without a bound, one frontend (one course's web app, or
// whoever holds its credentials) could submit enough of them to take
// every SSH port of every agent, and a slot each: no other course's
// teacher could debug, and their students' jobs waited. So the backend
// counts each client's live SSH-debug jobs, waiting and running, and
// refuses a frontend's beyond Config.MaxSSHDebugPerClient.
//
// The count is per client id, which the NATS server enforces (the
// subject the job came on), never a course id: a frontend names its
// courses itself, and would get a bound per course it invented. It is
// kept by apply from the jobs' heads (JobHead.SSHDebug), so that a
// replayed journal counts the same jobs.

// overSSHDebug refuses a frontend's SSH-debug job when its client has
// as many live as the bound allows. Admins (the CLI, the HTTP API, which
// lets only admin tokens ask for SSH debug) are not bounded: they are
// the operators, and a teacher on the CLI must be able to debug while a
// course's web app holds its share. Their jobs count all the same,
// under the client id they used.
func (b *Backend) overSSHDebug(clientID string, admin bool, m *messages.ClientNewJob) *messages.Error {
	if admin || m.Debug != messages.DebugSSH {
		return nil
	}
	max, key := b.cfg.MaxSSHDebugPerClient, "backend.max-ssh-debug-per-client"
	if n, ok := b.cfg.sshMax[clientID]; ok {
		max, key = n, "backend.max-ssh-debug-per-clients"
	}
	if max <= 0 || b.sshDebug[clientID] < max {
		return nil
	}
	return messages.Errorf(messages.CodeQueueFull, m.JobID,
		"client %q has %d SSH-debug jobs waiting or running, the most %s allows (each holds an agent's SSH port and a slot for up to its session's length); end one of them, or submit again once one has ended",
		clientID, max, key)
}

// readSSHDebugBounds reads MaxSSHDebugPerClients into c.sshMax, with a
// problem naming each client whose bound is not a whole number >= 0.
func (c *Config) readSSHDebugBounds() []error {
	c.sshMax = make(map[string]int, len(c.MaxSSHDebugPerClients))
	var errs []error
	for client, v := range c.MaxSSHDebugPerClients {
		if err := messages.ValidateID(client); err != nil {
			errs = append(errs, &settings.Problem{Key: "max-ssh-debug-per-clients",
				Msg: fmt.Sprintf("%q is not a client id (%v): a bound for it would never apply", client, err)})
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, &settings.Problem{Key: "max-ssh-debug-per-clients",
				Msg: fmt.Sprintf("the bound of %s is %q: write a whole number, such as 4 (0: no bound)", client, v)})
			continue
		}
		c.sshMax[client] = n
	}
	return errs
}

// sshDebugQueued and sshDebugGone count a live job in and out of its
// client's SSH-debug jobs. Only apply calls them.
func (b *Backend) sshDebugQueued(j *job) {
	if !j.head.SSHDebug {
		return
	}
	if b.sshDebug == nil {
		b.sshDebug = map[string]int{}
	}
	b.sshDebug[j.client()]++
}

func (b *Backend) sshDebugGone(j *job) {
	if !j.head.SSHDebug {
		return
	}
	c := j.client()
	if b.sshDebug[c]--; b.sshDebug[c] <= 0 {
		delete(b.sshDebug, c) // clients come and go: keep none at 0
	}
}
