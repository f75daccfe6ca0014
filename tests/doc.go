// Package tests holds ingo's suites that cross components: end to end
// (tests/e2e), benchmarks (tests/bench) and, later, chaos and hostile
// submissions. Each sub-package starts real parts: an embedded nats-server
// on a random port, the backend, agents and clients.
package tests
