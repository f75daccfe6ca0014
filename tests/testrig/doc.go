// Package testrig starts an in-process ingo for tests: a backend and
// agents on one embedded NATS server, each stopped (and checked to stop
// cleanly) when the test ends. It sits apart from internal/testutil, which
// the backend's and agent's own tests import, so that it can import them.
package testrig
