// Package natsconn opens the NATS connections of ingo's components and sends
// ingo messages over them. Every component reconnects forever: a NATS outage
// pauses ingo, it never ends it.
package natsconn
