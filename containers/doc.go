// Package containers defines the runtime contract between the agent core and
// whatever runs grading jobs (runtime.go), the cancel causes the agent maps
// to job statuses, and a few helpers common to runtimes.
//
// Implementations live in sub-packages: containers/docker (the real one; the
// Docker SDK is imported nowhere else), containers/fake (in memory, driven by
// job data, for scheduler and protocol tests) and containers/noop (finishes
// every job at once, for load tests). containers/mcq wraps any of them to
// grade INGInious' multiple-choice tasks without a container.
package containers
