// Package tests holds ingo's suites that cross components: end to end
// (tests/e2e), a NATS cluster (tests/cluster), chaos (tests/chaos), the
// attacks of a student on the network (tests/security), the Compose stack
// (tests/compose), the commands of docs/deployment.md as an operator copies
// them (tests/deploydoc), the dashboard in a browser (tests/browser) and
// benchmarks (tests/bench). Each sub-package starts real parts: an embedded nats-server
// on a random port, the backend, agents and clients.
package tests
