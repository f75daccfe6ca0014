package noop

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// DefaultEnvironment is the environment of a task.yaml that names none.
const DefaultEnvironment = "docker/default"

// ShippedEnvironments are offered when New is given none: the grading
// images ingo ships (containers/images, each labelled
// org.inginious.grading.name with its directory's name), so that trying
// ingo out with --runtime noop accepts the jobs a Docker agent with
// those images would. A test keeps the list in step with the directory.
var ShippedEnvironments = []string{"docker/default", "docker/minimal", "docker/toolchain"}

// ErrBadEnvironment is wrapped by New for a name that is not "type/name".
var ErrBadEnvironment = errors.New("noop: environment must be TYPE/NAME")

// result is returned by every Run: a value with no maps, copied out.
var result = messages.JobResult{
	Result: messages.Result{Status: messages.StatusSuccess, Text: "noop"},
	Grade:  100,
}

// Runtime is the noop runtime.
type Runtime struct {
	envs map[string]map[string]messages.EnvironmentInfo
}

var _ containers.Runtime = (*Runtime)(nil)

// New offers the given environments, each "type/name" (e.g.
// "docker/default"); none means ShippedEnvironments.
func New(environments ...string) (*Runtime, error) {
	if len(environments) == 0 {
		environments = ShippedEnvironments
	}
	envs := make(map[string]map[string]messages.EnvironmentInfo)
	for _, e := range environments {
		typ, name, ok := strings.Cut(e, "/")
		if !ok || messages.ValidateID(typ) != nil || name == "" || strings.ContainsAny(name, "/ \t\n") {
			return nil, fmt.Errorf("%w: %q", ErrBadEnvironment, e)
		}
		if envs[typ] == nil {
			envs[typ] = make(map[string]messages.EnvironmentInfo)
		}
		envs[typ][name] = messages.EnvironmentInfo{ID: "noop:" + e, Title: name, Advertised: true}
	}
	return &Runtime{envs: envs}, nil
}

// Name is "noop".
func (r *Runtime) Name() string { return "noop" }

// Environments returns a copy of the environments given to New.
func (r *Runtime) Environments(context.Context) (map[string]map[string]messages.EnvironmentInfo, error) {
	out := make(map[string]map[string]messages.EnvironmentInfo, len(r.envs))
	for typ, names := range r.envs {
		m := make(map[string]messages.EnvironmentInfo, len(names))
		for n, info := range names {
			m[n] = info
		}
		out[typ] = m
	}
	return out, nil
}

// Changes is nil: the environments never change.
func (r *Runtime) Changes() <-chan struct{} { return nil }

// Run returns success at once, or the cancellation when ctx is done.
func (r *Runtime) Run(ctx context.Context, _ *containers.Job, ev containers.Events) (messages.JobResult, error) {
	if ctx.Err() != nil {
		return messages.JobResult{}, fmt.Errorf("noop: %w", context.Cause(ctx))
	}
	containers.ReportStarted(ev)
	return result, nil
}

// Cleanup has nothing to remove.
func (r *Runtime) Cleanup(context.Context, containers.CleanupRequest) ([]messages.JobAttempt, error) {
	return nil, nil
}

// Close has nothing to release.
func (r *Runtime) Close() error { return nil }
