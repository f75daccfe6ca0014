package messages

import (
	"fmt"
	"maps"
	"slices"
)

// MaxAgentEnvironments is the most environments one agent may offer
// (AgentHello.AvailableEnvironments, all types together): a grading host
// has a few images, a hundred at most. The backend builds the list it
// sends every client from all agents' offers, at every change: a hello
// of 130,000 environments (4.7 MB), sent again with other names every
// second, kept it from answering anybody for seconds at a time.
const MaxAgentEnvironments = 1024

// CheckEnvironments says whether an agent's offer is within the bounds
// the backend holds it to: at most MaxAgentEnvironments, with types and
// names of 1 to MaxNameLength bytes (what a job can carry).
func CheckEnvironments(envs map[string]map[string]EnvironmentInfo) error {
	n := 0
	for typ, names := range envs {
		if typ == "" || len(typ) > MaxNameLength {
			return fmt.Errorf("an environment type of %d bytes: 1 to %d", len(typ), MaxNameLength)
		}
		for name := range names {
			if name == "" || len(name) > MaxNameLength {
				return fmt.Errorf("an environment name of %d bytes in %q: 1 to %d", len(name), typ, MaxNameLength)
			}
		}
		if n += len(names); n > MaxAgentEnvironments {
			return fmt.Errorf("more than %d environments", MaxAgentEnvironments)
		}
	}
	return nil
}

// FitEnvironments is envs without what CheckEnvironments refuses, and
// what it left out ("type/name", names cut): an agent offers the rest
// rather than have its whole hello refused, and all its slots idle, for
// one grading image of an odd name. Past MaxAgentEnvironments, the first
// in the order of types and names are kept.
func FitEnvironments(envs map[string]map[string]EnvironmentInfo) (map[string]map[string]EnvironmentInfo, []string) {
	if CheckEnvironments(envs) == nil {
		return envs, nil
	}
	cut := func(s string) string {
		if len(s) > 64 {
			return s[:64] + "…"
		}
		return s
	}
	fit := map[string]map[string]EnvironmentInfo{}
	var dropped []string
	n := 0
	types := slices.Sorted(maps.Keys(envs))
	for _, typ := range types {
		for _, name := range slices.Sorted(maps.Keys(envs[typ])) {
			switch {
			case typ == "" || len(typ) > MaxNameLength || name == "" || len(name) > MaxNameLength || n >= MaxAgentEnvironments:
				dropped = append(dropped, cut(typ)+"/"+cut(name))
			default:
				if fit[typ] == nil {
					fit[typ] = map[string]EnvironmentInfo{}
				}
				fit[typ][name] = envs[typ][name]
				n++
			}
		}
	}
	return fit, dropped
}
