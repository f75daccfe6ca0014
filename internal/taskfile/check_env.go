package taskfile

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The largest limits an agent grants with the default agent.max-limits
// (docs/configuration.md): more is capped there.
var agentMaxLimits = map[string]float64{"time": 600, "hard_time": 1800, "memory": 4096, "disk": 4096}

// checkEnvironment checks the environment keys in whichever format the
// file uses, as Parse reads them, and returns the environment type and
// name it names (the defaults where it names none or cannot be read).
func checkEnvironment(f findings, root *yaml.Node) (envType, env string) {
	top := func(k string) *yaml.Node { return get(root, k) }
	if old := top("environment"); old != nil {
		env = firstNonEmpty(scalarText(f, old, "environment"), DefaultEnvironment)
		for _, p := range pairs(root) {
			if strings.HasPrefix(p.key, "environment_") {
				f.add(SevWarning, p.kn.Line, "%s is ignored: with `environment` in the file, INGInious (and ingo) read the older format and drop environment_*; keep one format", p.key)
			}
		}
		checkParams(f, "", top("limits"), top("network_grading"), top("run_cmd"))
		if env == "mcq" {
			return "mcq", env
		}
		return DefaultEnvironmentType, env
	}
	env = firstNonEmpty(scalarText(f, top("environment_id"), "environment_id"), DefaultEnvironment)
	envType = firstNonEmpty(scalarText(f, top("environment_type"), "environment_type"), DefaultEnvironmentType)
	ep := top("environment_parameters")
	if ep == nil {
		for _, k := range []string{"limits", "network_grading", "run_cmd"} {
			if n := top(k); n != nil {
				f.add(SevWarning, keyLine(root, k), "%s at the top level without environment_parameters: ingo reads it, but INGInious' current webapp ignores it for its defaults; move it under environment_parameters", k)
			}
		}
		checkParams(f, "", top("limits"), top("network_grading"), top("run_cmd"))
		return envType, env
	}
	for _, k := range []string{"limits", "network_grading", "run_cmd"} {
		n := top(k)
		if n == nil || (k == "network_grading" && isOff(n)) {
			// INGInious' task editor writes network_grading: false there
			// on every save (task_edit.py): it asks for nothing.
			continue
		}
		f.add(SevWarning, keyLine(root, k), "%s at the top level is ignored: environment_parameters.%s is read instead (by INGInious too)", k, k)
	}
	if !isMap(ep) {
		if !isNull(ep) {
			f.add(SevError, line(ep), "environment_parameters must be a mapping (limits, network_grading, run_cmd, ssh_allowed); INGInious would have refused the task")
		}
		return envType, env
	}
	const prefix = "environment_parameters."
	unknownKeys(f, ep, prefix, envParamKeys, envParamKeys)
	checkParams(f, prefix, get(ep, "limits"), get(ep, "network_grading"), get(ep, "run_cmd"))
	if n := get(ep, "ssh_allowed"); n != nil {
		ssh, err := boolean(prefix+"ssh_allowed", value(n))
		if err != nil {
			f.add(SevError, line(n), "%v", err)
		} else if ssh && !strings.HasSuffix(envType, "-ssh") {
			envType += "-ssh"
		}
	}
	return envType, env
}

// checkParams checks limits, network_grading and run_cmd; prefix is
// where they sit ("environment_parameters." or "").
func checkParams(f findings, prefix string, limits, network, runCmd *yaml.Node) {
	if network != nil {
		if _, err := boolean(prefix+"network_grading", value(network)); err != nil {
			f.add(SevError, line(network), "%v", err)
		}
	}
	if runCmd != nil {
		if _, err := text(prefix+"run_cmd", value(runCmd)); err != nil {
			f.add(SevError, line(runCmd), "%v", err)
		}
	}
	if isNull(limits) {
		return
	}
	if !isMap(limits) {
		f.add(SevError, line(limits), "%slimits must be a mapping (time, hard_time, memory, disk); INGInious would have refused the task", prefix)
		return
	}
	lp := prefix + "limits."
	unknownKeys(f, limits, lp, limitKeys, limitKeys)
	got := map[string]float64{}
	for _, k := range []string{"time", "hard_time", "memory", "disk"} {
		n := get(limits, k)
		v, ok, err := number(lp+k, value(n))
		if err != nil {
			f.add(SevError, line(n), "%v", err)
			continue
		}
		if !ok {
			continue
		}
		got[k] = v
		if most := agentMaxLimits[k]; v > most {
			f.add(SevWarning, line(n), "%s%s %g is more than agents grant with the default agent.max-limits (%g): they cap it", lp, k, v, most)
		}
	}
	if m, ok := got["memory"]; ok && m < minMemory {
		f.add(SevWarning, line(get(limits, "memory")), "%smemory %g MiB is raised to %d MiB, as INGInious does", lp, m, minMemory)
	}
	if h, t := got["hard_time"], got["time"]; h > 0 && t > 0 && h < t {
		f.add(SevWarning, line(get(limits, "hard_time")), "%shard_time %g s (wall time) is less than time %g s (CPU time): the job is stopped before it can use its CPU time", lp, h, t)
	}
}

// scalarText reads a text setting such as environment_id; anything but a
// text (or a number, which PyYAML would give INGInious as an int) is an
// error.
func scalarText(f findings, n *yaml.Node, key string) string {
	if isNull(n) {
		return ""
	}
	n = deref(n)
	if n.Kind != yaml.ScalarNode {
		f.add(SevError, n.Line, "%s must be a text, not a %s", key, kindName(n))
		return ""
	}
	return n.Value
}

// keyLine is the line of key in mapping n.
func keyLine(n *yaml.Node, key string) int {
	for _, p := range pairs(n) {
		if p.key == key {
			return p.kn.Line
		}
	}
	return 0
}

func kindName(n *yaml.Node) string {
	switch deref(n).Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return fmt.Sprintf("value %q", n.Value)
}

// isOff says whether a node is a boolean setting that is off (false,
// off, an empty text...), as ingo reads network_grading.
func isOff(n *yaml.Node) bool {
	on, err := boolean("", value(n))
	return err == nil && !on
}
