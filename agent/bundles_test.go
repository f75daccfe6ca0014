package agent

import (
	"github.com/ingo-grader/ingo/containers"
	ibundle "github.com/ingo-grader/ingo/internal/bundle"
)

// containers and internal/bundle each spell TaskBundle out (so that
// internal/bundle, which frontendclient imports, does not import
// containers); these keep them one type, and the agent's Bundles served by
// the bundle cache.
var (
	_ containers.TaskBundle = (*ibundle.Bundle)(nil)
	_ Bundles               = (*ibundle.Cache)(nil)
)
