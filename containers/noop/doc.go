// Package noop is a containers.Runtime that finishes every job at once with
// success (grade 100, text "noop"), for load tests of the backend and the
// wire protocol (`ingo agent --runtime noop`). It offers the environments it
// is given, by default those of the grading images ingo ships
// (docker/default, docker/minimal, docker/toolchain), and never changes
// them. Run does
// not allocate, so that a benchmark measures ingo, not the runtime.
package noop
