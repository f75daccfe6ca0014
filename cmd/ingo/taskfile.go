package main

import "github.com/ingo-grader/ingo/internal/taskfile"

// task.yaml is read by internal/taskfile, which the HTTP API and the
// INGInious bridge share, so that a task runs the same whether it came
// through `ingo submit`, POST /api/v1/jobs or an INGInious webapp. These
// names keep the CLI's code unchanged.

// taskSpec is what submit takes from a task folder's task.yaml.
type taskSpec = taskfile.Spec

// readTaskDir reads dir/task.yaml (see taskfile.ReadDir).
func readTaskDir(dir string) (taskSpec, error) { return taskfile.ReadDir(dir) }
