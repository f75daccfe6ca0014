// Package cluster tests ingo on a real three-node NATS cluster with
// JetStream: three nats-server processes (built from the module in go.mod,
// testutil.StartNATSCluster) on loopback, each run with its shipped
// configs/nats/nodeN.conf changed only in addresses, ports and paths (TLS
// for clients and routes included), with the backend's journal replicated
// R3. Nodes die by SIGKILL while jobs flow; every job must still get
// exactly one result. The backend, agent and client run in the test
// process, each with its own NATS connection given all three URLs and the
// cluster's CA, as in production. Rogue servers point routes at a node:
// only a route certificate of the cluster's own CA opens one.
//
// The tests are skipped only when the nats-server binary cannot be built.
package cluster
