// Package natsserver runs an embedded nats-server with JetStream, for
// `ingo backend --embedded-nats`, `ingo up` and tests.
package natsserver
