// Package internal holds plumbing shared by ingo's components: the embedded
// NATS server (natsserver), connections to NATS (natsconn), configuration
// (config), logging (logging) and test helpers (testutil).
package internal
