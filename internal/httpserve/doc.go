// Package httpserve serves ingo's HTTP listeners (the HTTP API with its
// dashboard, /metrics) to a network where anyone may connect. In ingo up
// the API shares its process with the backend and the embedded NATS
// server: whatever a stranger makes it hold, they lose. So what a
// connection can hold is bounded before a request is authenticated:
//
//   - Connections: MaxConns are open at once, and MaxConnsPerAddr from
//     one address (an IPv4 address, an IPv6 /64) that are not trusted: a
//     connection is trusted once a request on it showed a valid token
//     (Trust; a web app that follows many jobs holds many). When all
//     places are taken, a newcomer from an address holding fewer untrusted
//     connections than the one holding the most takes the place of that
//     one's oldest untrusted connection; any other is closed as it is
//     accepted. So strangers with many addresses can fill the places, but
//     not close a token holder's, nor keep out an address that holds few.
//     A review held 18,900 connections (and 20,000 file descriptors, the
//     process's limit, which NATS needed too) by asking for the
//     dashboard's script and never reading it.
//   - Headers: MaxHeaderBytes (16 KiB, a bearer token's request needs a
//     few hundred bytes), also what HTTP/2's compressed headers may expand
//     to; a request that takes longer than ReadHeaderTimeout to send them
//     is dropped. net/http's default of 1 MiB let 500 slow connections hold
//     a GiB.
//   - Responses: a write that the client does not take within WriteStall
//     fails, and ends the HTTP/1 connection or the HTTP/2 stream. The
//     deadline is pushed forward at each write, so a long answer (a
//     server-sent event stream) lives while the client reads it, and a
//     request being read or handled is not hurried (uploads have their own
//     bounds). A review opened 250 HTTP/2 streams per connection with a
//     flow-control window of 0, each a handler blocked on its answer (a
//     401) forever, holding 1 MiB of headers: 16 connections ran ingo up
//     out of memory.
//   - HTTP/2: MaxStreams streams at once per connection (net/http's 250).
//   - Idle connections close after IdleTimeout.
//
// What a refusal or a failed TLS handshake logs is limited to a few lines
// a minute, with a count of those dropped.
package httpserve
