package taskfile

import (
	"slices"
	"testing"

	"github.com/ingo-grader/ingo/containers/docker"
)

// TestInterpretersKnowTheAgentsAliases: the run-file check knows every
// environment name the agent offers by default as the image it stands for
// (cpp was checked against default's interpreters after it became
// toolchain's).
func TestInterpretersKnowTheAgentsAliases(t *testing.T) {
	for name, image := range docker.DefaultAliases {
		if got, want := interpreters[name], interpreters[image]; want == nil || !slices.Equal(got, want) {
			t.Errorf("environment %s (an alias of %s): interpreters %v, want %s's %v", name, image, got, image, want)
		}
	}
}
