// Package taskfile reads the part of an INGInious task folder's task.yaml
// that concerns running a job (environment, limits, network, problems).
// `ingo submit` and the HTTP API share it so that a task folder submitted
// either way runs with the same settings.
package taskfile
