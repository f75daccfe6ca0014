package api

import (
	"context"
	"net/http"

	"github.com/ingo-grader/ingo/internal/taskfile"
)

// maxTaskParses bounds the task.yaml files parsed at once. A task.yaml
// within taskfile's bounds costs the YAML parser up to some tens of MB
// (its nodes, a few hundred bytes each), from a task archive of a few
// hundred bytes of gzip: the upload budget, which counts bodies, does not
// see it, and twelve such uploads at once took the API 300 MB (twelve of
// 1 MB of "0," before taskfile bounded nodes: 1.5 GB). Parsing takes a
// tenth of a second at worst, so a few at once serve every frontend.
const maxTaskParses = 2

// readTaskSpec reads dir's task.yaml once one of the maxTaskParses places
// is free, waiting at most Options.UploadWait, then answering 503 busy as
// for an upload that finds no memory.
func (s *Server) readTaskSpec(ctx context.Context, dir string) (taskfile.Spec, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.UploadWait)
	defer cancel()
	if err := s.taskParses.Acquire(ctx, 1); err != nil {
		return taskfile.Spec{}, gaveUpWaiting("task.yaml files to be read", err, s.opts.UploadWait)
	}
	defer s.taskParses.Release(1)
	spec, err := taskfile.ReadDir(dir)
	if err != nil {
		return taskfile.Spec{}, errf(http.StatusBadRequest, "bad_task", "the task archive's task.yaml: "+err.Error())
	}
	return spec, nil
}
