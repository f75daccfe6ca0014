// Package cluster tests ingo on a real three-node NATS cluster with
// JetStream: three nats-server processes (built from the module in go.mod,
// testutil.StartNATSCluster) on loopback, configured as configs/nats
// describes for three hosts, with the backend's journal replicated R3.
// Nodes die by SIGKILL while jobs flow; every job must still get exactly
// one result. The backend, agent and client run in the test process, each
// with its own NATS connection given all three URLs, as in production.
//
// The tests are skipped only when the nats-server binary cannot be built.
package cluster
