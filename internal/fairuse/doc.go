// Package fairuse bounds what one key (a client, an agent, a token's
// name) may take of something everybody shares: Debts a share of a
// server's time, measured as it is used; InFlight a count of requests
// at once. The backend's event loop (queue snapshots, agent hellos), the
// job history's readers and the HTTP API (paged queue requests, history
// requests of a token name) each use one, with bounds of their own.
package fairuse
