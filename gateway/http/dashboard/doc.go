// Package dashboard is the admin web page of ingo's HTTP API: the live
// queue (running and waiting jobs, and why each waits), the agents and
// their environments, the recently finished jobs and, per course, the
// jobs finished in a chosen window by status with their median wait and
// run times (both read from the job history, so they include jobs the CLI
// or another frontend submitted, and jobs that finished before the page
// was opened), and one job's detail with its result, times and usage, with
// a Kill button, which asks "Kill? Yes / No", on jobs that have not
// finished, and a form that submits a job: a task folder's archive, one
// problem=value answer per line, optional environment and priority.
//
// Handler serves three static files (index.html, app.js, style.css),
// embedded in the binary: no build step, nothing fetched from elsewhere (no
// CDN, no web font), so it works offline. The page talks to the HTTP API of
// the same origin under /api/v1:
//
//	GET    /api/v1/queue/events       server-sent events "queue" (snapshots)
//	GET    /api/v1/jobs               the newest jobs of the history
//	GET    /api/v1/history/summary    per course counts and medians of a window
//	POST   /api/v1/jobs               submit (multipart: job JSON, task archive)
//	GET    /api/v1/jobs/{id}          status and result
//	GET    /api/v1/jobs/{id}/events   server-sent events of one job
//	DELETE /api/v1/jobs/{id}          kill
//	GET    /api/v1/environments       environments on offer
//
// It reads snapshots and results defensively (a missing field shows as
// "—"). Everything that comes from jobs — feedback, problem texts,
// stdout, stderr, launcher names — is untrusted and student-influenced:
// the script only ever puts it in the page as text (textContent, text
// nodes), never as HTML, and the Content-Security-Policy set by Handler
// allows scripts, styles and connections from the same origin only.
//
// Every /api/v1 route wants a bearer token. The page asks for one in a
// small form before it connects (and again when the API answers 401), and
// keeps it in sessionStorage for the tab's life, never in a URL. It sends
// it as the Authorization header, event streams included: those are read
// with fetch and a ReadableStream, since EventSource cannot set headers
// (no ticket in the query string, which would end up in logs).
package dashboard
