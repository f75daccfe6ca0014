// Package streamspace puts a JetStream stream's subjects under a space: a
// random word that only the stream's configuration holds.
//
// NATS stores in a stream whatever is published on its subjects, the
// server's own answers included, and a JetStream answer goes to whatever
// reply subject its requester named, past the requester's permissions.
// So with subjects anybody can name, any frontend or agent can have
// acknowledgements (about 100 bytes each, as fast as it asks) stored in
// the backend's streams: enough of them fill the job journal until it
// refuses new jobs, or make the job history drop its oldest records. A
// stream's configuration is readable only by backends (package natsauth),
// so under a space nobody else can name a subject the stream keeps.
//
// Open makes the space with the stream, reads it back from an existing
// one, and gives one to a stream of an older layout (whose messages on
// the older subjects stay, and are still read by subject or sequence).
// Two processes that create a stream at once agree on the first's space;
// two that move an older layout's at once each update it, and the later
// wins: the other's stores then find no stream, and Current says where to
// store instead (the users say how they follow it).
package streamspace
