// Package httpserve serves ingo's HTTP listeners (the HTTP API with its
// dashboard, /metrics) to a network where anyone may connect. In ingo up
// the API shares its process with the backend and the embedded NATS
// server: whatever a stranger makes it hold, they lose. So what a
// connection can hold is bounded before a request is authenticated:
//
//   - Connections: MaxConns are open at once, and MaxConnsPerAddr from
//     one address (an IPv4 address, an IPv6 /64) that are not trusted: a
//     connection is trusted once a request on it showed a valid token
//     (Trust), up to a quarter of MaxConns per token holder (a web app
//     that follows many jobs holds many; one course's cannot hold all).
//     When all places are taken, a newcomer takes the place of an
//     untrusted connection: the oldest of the address holding the most, if
//     that holds more than the newcomer's would; else, for a newcomer from
//     an address holding none, the oldest of all. Any other newcomer is
//     closed as it is accepted. So strangers with many addresses can fill
//     the places, but not close a token holder's, nor keep out an address
//     that holds few. A review held 18,900 connections (and 20,000 file
//     descriptors, the process's limit, which NATS needed too) by asking
//     for the dashboard's script and never reading it.
//   - Headers: MaxHeaderBytes (16 KiB, a bearer token's request needs a
//     few hundred bytes), also what HTTP/2's compressed headers may expand
//     to; a request that takes longer than ReadHeaderTimeout to send them
//     is dropped. net/http's default of 1 MiB let 500 slow connections hold
//     a GiB.
//   - Requests: those of untrusted connections being served at once are a
//     quarter of MaxConns; one more is reset unanswered.
//   - Responses: a write that the client does not take within WriteStall
//     (UntrustedStall on an untrusted connection) fails, and ends the
//     HTTP/1 connection or the HTTP/2 stream. The deadline is pushed
//     forward at each write, so a long answer (a server-sent event stream)
//     lives while the client reads it, and a request being read or handled
//     is not hurried (uploads have their own bounds). An untrusted
//     request's last wait for the client counts within its bound. A review
//     opened 250 HTTP/2 streams per connection with a flow-control window
//     of 0, each a handler blocked on its answer (a 401) forever, holding
//     1 MiB of headers: 16 connections ran ingo up out of memory.
//   - HTTP/2: MaxStreams streams at once per connection (net/http's 250).
//     With the defaults, the same attack on every place (512 connections
//     of 16 streams, 15 KiB of headers each, reopened as they are reset)
//     took ingo up to about 390 MB, then its connections were closed.
//   - Idle connections close after IdleTimeout.
//
// What a refusal or a failed TLS handshake logs is limited to a few lines
// a minute, with a count of those dropped; net/http's other errors (a
// handler's panic) are logged as they come.
package httpserve
