// Package e2e runs whole ingo systems and checks what crosses their
// boundaries. In one process, on one embedded NATS server: a backend,
// agents of the fake runtime and frontend clients (cluster_test.go), for
// priorities, routing, kills, agents lost mid-job, malformed messages, a
// NATS restart and task bundles. As real processes and containers: the
// Docker agent running jobs, killed and restarted, run inside a container
// itself, with student containers and SSH, and `ingo up` restarted with
// its history kept. Every log line the components write is kept and
// searched for the secrets the suite used (TestMain).
package e2e
