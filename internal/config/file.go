package config

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// readFile parses a YAML configuration file and refuses any key that is not
// a setting, naming it, so that a typo never falls back to a default.
func (s *Schema[T]) readFile(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w (check --config and %s)", err, EnvConfig)
	}
	var settings map[string]any
	// yaml.v3 refuses duplicate keys, which viper would silently merge.
	if err := yaml.Unmarshal(data, &settings); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	var problems []string
	s.checkKeys(settings, "", &problems)
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("config file %s: %s (every key is listed in docs/configuration.md)",
			path, strings.Join(problems, "; "))
	}
	return settings, nil
}

// checkKeys walks a parsed file and describes every key that is not a
// setting, or a section written as a value and the other way around.
func (s *Schema[T]) checkKeys(m map[string]any, prefix string, problems *[]string) {
	for name, value := range m {
		full := prefix + name
		_, isKey := s.Lookup(full)
		switch {
		case isKey:
			if _, isMap := value.(map[string]any); isMap {
				*problems = append(*problems, fmt.Sprintf("key %q takes a value, not a mapping", full))
			}
		case s.isSection(full):
			switch sub := value.(type) {
			case map[string]any:
				s.checkKeys(sub, full+".", problems)
			case nil:
				// An empty section ("agent:") sets nothing.
			default:
				*problems = append(*problems, fmt.Sprintf("%q is a section: write its keys under it", full))
			}
		default:
			msg := fmt.Sprintf("unknown key %q", full)
			if sug := s.suggest(full); sug != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			}
			*problems = append(*problems, msg)
		}
	}
}

// suggest returns the key closest to name, if it is close enough to be
// a typo of it.
func (s *Schema[T]) suggest(name string) string {
	best, bestDist := "", 4
	for _, k := range s.keys {
		if d := distance(name, k.Name); d < bestDist {
			best, bestDist = k.Name, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
