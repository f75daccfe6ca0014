package mcq

import (
	"context"
	"fmt"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// The environment of INGInious' MCQ tasks, as its MCQ agent offers it.
const (
	EnvironmentType = "mcq"
	Environment     = "mcq"
)

// Runtime is a runtime that also grades MCQ tasks. Name, Changes, Cleanup
// and Close are its inner runtime's: grading makes nothing to clean up.
type Runtime struct {
	containers.Runtime
}

var _ containers.Runtime = (*Runtime)(nil)

// Wrap returns inner with MCQ tasks graded beside it.
func Wrap(inner containers.Runtime) *Runtime { return &Runtime{Runtime: inner} }

// Unwrap returns the inner runtime (for what only it has: the Docker
// runtime's warm pool statistics).
func (r *Runtime) Unwrap() containers.Runtime { return r.Runtime }

// Environments are the inner runtime's and mcq/mcq.
func (r *Runtime) Environments(ctx context.Context) (map[string]map[string]messages.EnvironmentInfo, error) {
	envs, err := r.Runtime.Environments(ctx)
	if err != nil {
		return nil, err
	}
	if envs == nil {
		envs = make(map[string]map[string]messages.EnvironmentInfo, 1)
	}
	envs[EnvironmentType] = map[string]messages.EnvironmentInfo{
		Environment: {ID: "mcq", Title: "Multiple Choice Question solver", Advertised: true},
	}
	return envs, nil
}

// Run grades a job of type mcq here and passes the others on.
func (r *Runtime) Run(ctx context.Context, job *containers.Job, ev containers.Events) (messages.JobResult, error) {
	if job.Desc.EnvironmentType != EnvironmentType {
		return r.Runtime.Run(ctx, job, ev)
	}
	if ctx.Err() != nil {
		return messages.JobResult{}, fmt.Errorf("mcq: %w", context.Cause(ctx))
	}
	containers.ReportStarted(ev)
	tr, err := taskCatalog(job)
	if err != nil {
		previous, _ := job.Desc.InputData["@state"].(string)
		return messages.NewJobResult(messages.StatusCrash,
			fmt.Sprintf("The task's translations cannot be read: %v. Please contact your course administrator.", err), previous), nil
	}
	return Grade(job.Desc, tr), nil
}

// taskCatalog is the catalog of the job's @lang in its task bundle, if
// it has one.
func taskCatalog(job *containers.Job) (catalog, error) {
	lang, _ := job.Desc.InputData["@lang"].(string)
	if job.Task == nil || lang == "" {
		return nil, nil
	}
	rc, err := job.Task.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return bundleCatalog(rc, lang)
}
