// Package api is ingo's HTTP API (DESIGN.md §7, docs/api.md): REST and
// server-sent events for frontends in any language, on top of one
// frontendclient.Client. It is the HTTP gateway (DESIGN.md §2): it lives in
// gateway/http, with the admin page in gateway/http/dashboard and the
// bearer tokens in gateway/http/apitoken, and keeps the name api so that it
// does not shadow net/http; importers name it explicitly:
//
//	api "github.com/ingo-grader/ingo/gateway/http"
//
// # Routes
//
// The routes are listed once, in routes (server.go); the handler, the
// request counters of Stats and the OpenAPI test (which checks that every
// route is documented in openapi.json) all read that table. Unknown paths
// and wrong methods get JSON errors too (404, 405), so that a frontend never
// has to parse an HTML or plain-text error page.
//
// # Who may do what
//
// Every /api/v1 route needs a bearer token (auth.go): Options.AdminToken,
// or a token of package apitoken signed with Options.TokenKey. An admin
// sees and kills every job; a frontend NAME only the jobs submitted with a
// token of its name (the store records each job's owner), gets the 404 of
// an unknown job for the others, and may not ask for more than
// Options.Frontend (policy.go). Writes from a browser page of another
// origin are refused before the token is looked at. Request bodies are
// read against their limits and within Options.UploadMemory (upload.go).
//
// The API is one admin client of the backend for every token, so it
// names, on each job of a frontend token, the token's name as the job's
// frontend (messages.ClientNewJob.Frontend, which the backend takes from
// admins only): that name's courses are its own in the backend's fair
// share, its caps on waiting jobs and backend.course-weights
// ("<client id>:<name>/<course>"), and another token that calls a
// course alike neither fills its caps nor takes its share. An admin
// token's jobs name none: they are the API's own courses. A frontend
// token's queue snapshot counts its own courses only.
//
// # Jobs the API knows
//
// The API remembers the jobs it submitted (status, the events so far, the
// result) in a store bounded by Options.JobMemory; the oldest finished jobs
// are forgotten first. Results reach the store through
// frontendclient.Options.OnResult, so that results of jobs submitted before
// a restart of the API (same ClientID) are kept as well: a frontend that
// polls GET /api/v1/jobs/{id} gets them. A job the API did not submit is
// looked up in the backend's queue snapshot.
//
// # One owner
//
// The store (jobs.go) is guarded by one mutex, store.mu; each job's event
// log is appended under it and readers are woken by closing a channel, so a
// slow SSE client never holds anything up.
//
// # Task archives
//
// A task folder arrives as a .tar.gz, .tar or .zip. It is unpacked by
// bundle.Extract (plain tar and zip are converted into a tar.gz stream
// first), which refuses absolute paths, "..", links of any kind, special
// files, duplicates and archives over bundle's size and file-count bounds.
package api
