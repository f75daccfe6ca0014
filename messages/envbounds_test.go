package messages_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

func TestFitEnvironments(t *testing.T) {
	many := map[string]messages.EnvironmentInfo{}
	for i := range messages.MaxAgentEnvironments + 10 {
		many[fmt.Sprintf("env%04d", i)] = messages.EnvironmentInfo{ID: "img"}
	}
	long := strings.Repeat("x", messages.MaxNameLength+1)
	tests := []struct {
		name          string
		envs          map[string]map[string]messages.EnvironmentInfo
		kept, dropped int
	}{
		{"within bounds", map[string]map[string]messages.EnvironmentInfo{"docker": {"a": {}, "b": {}}}, 2, 0},
		{"a long name", map[string]map[string]messages.EnvironmentInfo{"docker": {"a": {}, long: {}}}, 1, 1},
		{"an empty name", map[string]map[string]messages.EnvironmentInfo{"docker": {"a": {}, "": {}}}, 1, 1},
		{"a long type", map[string]map[string]messages.EnvironmentInfo{long: {"a": {}}, "docker": {"a": {}}}, 1, 1},
		{"too many", map[string]map[string]messages.EnvironmentInfo{"docker": many}, messages.MaxAgentEnvironments, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fit, dropped := messages.FitEnvironments(tt.envs)
			kept := 0
			for _, names := range fit {
				kept += len(names)
			}
			if kept != tt.kept || len(dropped) != tt.dropped {
				t.Errorf("kept %d, dropped %d; want %d, %d", kept, len(dropped), tt.kept, tt.dropped)
			}
			if err := messages.CheckEnvironments(fit); err != nil {
				t.Errorf("what is kept is refused: %v", err)
			}
		})
	}
}
