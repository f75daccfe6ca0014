package taskfile

import (
	"math"

	"github.com/ingo-grader/ingo/messages"
)

// minMemory is the least memory (MiB) INGInious' agent gives a job: it
// raises any lower limit to this.
const minMemory = 20

// Parameters reads INGInious' environment_parameters as an INGInious
// webapp sends them in ClientNewJob (decoded from msgpack): limits,
// network_grading and run_cmd. ssh_allowed is not read: the webapp has
// already turned it into the environment type.
func Parameters(p map[string]any) (messages.EnvironmentParameters, error) {
	return parameters("environment_parameters.", p["limits"], p["network_grading"], p["run_cmd"])
}

// parameters reads the three settings; prefix is where they sit in the
// file ("environment_parameters." or "" for the older format), for errors.
func parameters(prefix string, limits, network, runCmd any) (messages.EnvironmentParameters, error) {
	var out messages.EnvironmentParameters
	lim, err := mapOf(prefix+"limits", limits)
	if err != nil {
		return out, err
	}
	if out.Limits, err = readLimits(prefix+"limits.", lim); err != nil {
		return out, err
	}
	if out.NetworkGrading, err = boolean(prefix+"network_grading", network); err != nil {
		return out, err
	}
	if out.RunCmd, err = text(prefix+"run_cmd", runCmd); err != nil {
		return out, err
	}
	return out, nil
}

// readLimits reads time, hard_time, memory and disk. Zero means the
// agent's default, which for hard_time is 3 × time, as in INGInious.
// output and unknown keys are ignored, as INGInious' agent ignores them.
func readLimits(prefix string, lim map[string]any) (messages.Limits, error) {
	var l messages.Limits
	for _, f := range []struct {
		key string
		set func(float64)
	}{
		{"time", func(v float64) { l.Time = v }},
		{"hard_time", func(v float64) { l.HardTime = v }},
		{"memory", func(v float64) { l.Memory = max(int64(math.Ceil(v)), minMemory) }},
		{"disk", func(v float64) { l.Disk = int64(math.Ceil(v)) }},
	} {
		v, ok, err := number(prefix+f.key, lim[f.key])
		if err != nil {
			return l, err
		}
		if ok {
			f.set(v)
		}
	}
	return l, nil
}
