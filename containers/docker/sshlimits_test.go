package docker

import (
	"testing"
	"time"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// TestSSHLimitsKeepTheTasksCPUTime: a docker-ssh job's type is its
// client's choice (a frontend's own task), and its run file only waits
// while ssh_student's session runs in a student container. Before, every
// docker-ssh job got the session's bound (31 minutes) as CPU time too: a
// run file that never called ssh_student burnt it, whatever its
// task.yaml, the HTTP API's policy for frontend tokens and
// agent.max-limits said. A debug "ssh" job's container is the teacher's
// shell, and keeps the session's bound for both.
func TestSSHLimitsKeepTheTasksCPUTime(t *testing.T) {
	task := messages.Limits{Time: 5, HardTime: 10, Memory: 100}
	session := 30 * time.Minute
	bound := (session + sshMargin).Seconds()
	for _, tc := range []struct {
		name       string
		desc       messages.JobDescription
		time, hard float64
	}{
		{"docker-ssh", messages.JobDescription{EnvironmentType: EnvTypeSSH}, 5, bound},
		{"debug ssh", messages.JobDescription{EnvironmentType: EnvType, Debug: messages.DebugSSH}, bound, bound},
		{"debug ssh of docker-ssh", messages.JobDescription{EnvironmentType: EnvTypeSSH, Debug: messages.DebugSSH}, bound, bound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := sshLimits(&containers.Job{Desc: &tc.desc, Limits: task}, session)
			if l.Time != tc.time || l.HardTime != tc.hard || l.Memory != task.Memory {
				t.Errorf("limits %+v, want time %v, hard time %v, memory %d", l, tc.time, tc.hard, task.Memory)
			}
		})
	}
}
