// Package internal holds plumbing shared by ingo's components: the embedded
// NATS server (natsserver), connections to NATS (natsconn), NATS identities
// and their permissions (natsauth), configuration (config), logging
// (logging), text made safe for terminals (termsafe), HTTP served to
// strangers (httpserve), task bundles (bundle), task.yaml (taskfile), the
// result JSON (jobjson) and test helpers (testutil).
//
// Plumbing imports none of backend, agent, frontendclient or gateway
// (DESIGN.md §2); layout_test.go checks it. What assembles components lives
// beside its users: cmd/ingo/metrics, tests/testrig.
package internal
