package main

import "github.com/ingo-grader/ingo/internal/taskfile"

// task.yaml is read by internal/taskfile, which the HTTP API shares, so
// that a task folder runs the same whether it came through `ingo submit`
// or POST /api/v1/jobs. These names keep the CLI's code unchanged.

// taskSpec is what submit takes from a task folder's task.yaml.
type taskSpec = taskfile.Spec

// readTaskDir reads dir/task.yaml (see taskfile.ReadDir).
func readTaskDir(dir string) (taskSpec, error) { return taskfile.ReadDir(dir) }

// parseTaskYAML reads task.yaml's bytes (see taskfile.Parse).
func parseTaskYAML(data []byte) (taskSpec, error) { return taskfile.Parse(data) }
