package api

import (
	"fmt"
	"strconv"

	"github.com/ingo-grader/ingo/messages"
)

// envTypeSSH is the agents' environment type whose jobs may call
// ssh_student (containers/docker.EnvTypeSSH).
const envTypeSSH = "docker-ssh"

// FrontendPolicy is what a frontend token may ask of a job; an admin token
// may ask anything, within the agents' own maxima (agent.max-limits), which
// they apply to every job.
type FrontendPolicy struct {
	// Max holds the largest limits a frontend job may ask for, its
	// task.yaml included. A zero field lets it ask for none above zero:
	// the agent's default applies. Max.HardTime 0 means three times
	// Max.Time, as an agent does for a job without a wall time.
	Max messages.Limits `key:"frontend-max-limits" help:"the largest limits a frontend token may ask for (0: the agent's default limit; hard-time 0: the agent's, or three times the largest CPU time)"`
	// Defaults are the agents' default limits, which a job giving 0
	// gets (messages.Limits zero: unknown). Where one is over Max, a
	// frontend job giving 0 is given Max instead: without this, a job
	// that gave no limits ran with the agent's 30 s and 256 MiB when the
	// operator allowed frontends 5 s and 64 MiB.
	Defaults messages.Limits `key:"-"`
	// Network lets frontend jobs ask for network_grading.
	Network bool `key:"frontend-network" help:"let jobs submitted with a frontend token ask for network_grading"`
	// MinPriority is the most urgent priority (lower runs first) a
	// frontend job may ask for. Priority comes before the fair share, and
	// the API is an admin to the backend, which then does not apply its
	// own bound (backend.frontend-min-priority): without this one a
	// frontend token could starve every other course. 0, the normal
	// priority, lets tokens ask only for it or less urgent ones (INGInious'
	// webapp sends 1 for replays).
	MinPriority int `key:"frontend-min-priority" help:"most urgent priority (lower runs first) a frontend token may ask for; a more urgent one is refused (admin tokens may ask for any)"`
}

// checkPriority refuses a frontend job more urgent than p allows, naming
// the bound and its setting. Refused, not clamped: whoever asked for an
// urgent priority learns at once that it was not given.
func (p FrontendPolicy) checkPriority(m *messages.ClientNewJob) error {
	if m.Priority >= p.MinPriority {
		return nil
	}
	return forbidden(fmt.Sprintf("priority %d is more urgent than a frontend token may ask for (lower runs first): at most as urgent as %d (api.frontend-min-priority); ask the operator, or submit with an admin token",
		m.Priority, p.MinPriority))
}

// check refuses a frontend job that asks for more than p, naming the
// first limit over and its maximum; a limit it leaves at 0 is given the
// maximum where the agents' default is over it (fillDefaults).
func (p FrontendPolicy) check(d *messages.JobDescription) error {
	ep := d.EnvironmentParameters
	if ep.NetworkGrading && !p.Network {
		return forbidden("network_grading is not allowed with a frontend token (api.frontend-network is off); ask the operator, or submit with an admin token")
	}
	if d.Debug == messages.DebugSSH {
		// As INGInious: SSH into a job's container is for staff.
		return forbidden(`debug "ssh" opens a shell in the job's container: it needs an admin token`)
	}
	if d.EnvironmentType == envTypeSSH {
		// ssh_student's credentials go to admin tokens only (the ssh
		// event), so a frontend token's student could never log in; and
		// the agent gives such a job the SSH session's wall time (31
		// minutes by default) whatever its limits: a run file that slept
		// held its slot that long, past the hard time allowed below.
		return forbidden(`environment type "` + envTypeSSH + `" (ssh_student) hands SSH credentials out, which only admin tokens receive: it needs an admin token`)
	}
	p.fillDefaults(&d.EnvironmentParameters.Limits)
	l, m := d.EnvironmentParameters.Limits, p.Max
	maxHard := m.HardTime
	if maxHard == 0 {
		maxHard = 3 * m.Time
	}
	num := func(v float64, unit string) string {
		if unit == "" {
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
		return strconv.FormatFloat(v, 'f', -1, 64) + " " + unit
	}
	for _, c := range []struct {
		name, key, unit string
		asked, max      float64
	}{
		{"time", "time", "s", l.Time, m.Time},
		{"hard_time", "hard-time", "s", l.HardTime, maxHard},
		{"memory", "memory", "MiB", float64(l.Memory), float64(m.Memory)},
		{"processes", "processes", "", float64(l.Processes), float64(m.Processes)},
		{"output", "output", "bytes", float64(l.Output), float64(m.Output)},
		{"disk", "disk", "MiB", float64(l.Disk), float64(m.Disk)},
	} {
		if c.asked > c.max {
			return forbidden(fmt.Sprintf("limits.%s is %s (the request or task.yaml); a frontend token may ask for at most %s (api.frontend-max-limits.%s); ask the operator, or submit with an admin token",
				c.name, num(c.asked, c.unit), num(c.max, c.unit), c.key))
		}
	}
	return nil
}

// fillDefaults gives each limit l leaves at 0 the maximum, where the
// agents' default for it (Defaults) is over the maximum: the job would
// otherwise run with more than a frontend may ask for. A hard time left
// at 0 is the agent's default, or three times the CPU time.
func (p FrontendPolicy) fillDefaults(l *messages.Limits) {
	m, d := p.Max, p.Defaults
	fill := func(asked *float64, def, max float64) {
		if *asked == 0 && max > 0 && def > max {
			*asked = max
		}
	}
	filli := func(asked *int64, def, max int64) {
		if *asked == 0 && max > 0 && def > max {
			*asked = max
		}
	}
	fill(&l.Time, d.Time, m.Time)
	maxHard, defHard := m.HardTime, d.HardTime
	if maxHard == 0 {
		maxHard = 3 * m.Time
	}
	if defHard == 0 {
		defHard = 3 * d.Time
		if l.Time > 0 {
			defHard = 3 * l.Time
		}
	}
	fill(&l.HardTime, defHard, maxHard)
	filli(&l.Memory, d.Memory, m.Memory)
	filli(&l.Processes, d.Processes, m.Processes)
	filli(&l.Output, d.Output, m.Output)
	filli(&l.Disk, d.Disk, m.Disk)
}
