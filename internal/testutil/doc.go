// Package testutil holds helpers for ingo's tests: embedded NATS servers on
// random ports, and waiting for conditions without sleeping blindly.
package testutil
