// Package browser tests the admin dashboard (gateway/http/dashboard) in a real
// headless Chromium, driven over the DevTools protocol with chromedp.
//
// The test runs a whole ingo in the process — an embedded NATS, a durable
// backend (so with its job history), an agent with the fake runtime, the
// HTTP API with the dashboard mounted at "/" on an httptest server. Before
// the page is loaded, two jobs are submitted and finished through another
// frontendclient, as `ingo submit` does (history_test.go): the page, which
// never saw them, shows them in Recently finished from the job history,
// opens one in the job view with its times, agent, usage and feedback (as
// text, not HTML), and counts them per course with their median wait and
// run times, also after choosing another window. Then it submits jobs
// through the HTTP API and checks what the page shows: a job running, then
// its result (feedback shown as text, not HTML), a waiting job and a
// running one killed with the page's Kill buttons, each asking "Kill?
// Yes / No" first, where No sends nothing (kill_test.go), and a task
// folder (a tar.gz the test builds) submitted with the page's form: a bad
// answer line refused in the page, the API's error shown for a file that
// is no archive, then the job followed to its result. Last, the per-course
// view counts the page's jobs too, with a total. It saves a full-page PNG
// at each step, in $INGO_BROWSER_SHOTS when set (else a temporary folder),
// and checks each is a real image; system_test.go starts ingo and
// page_test.go drives the tab.
//
// Chromium is looked up as $INGO_CHROMIUM, then chromium, chromium-browser,
// google-chrome on PATH. Without one the test is skipped, unless
// INGO_REQUIRE_DOCKER is set (as .ci/run does): then it fails.
//
// The HTTP API takes only strings, lists and files as inputs, while the
// fake runtime wants "@fake" as a map: the test's agent runtime decodes an
// "@fake" string as JSON before handing the job to the fake runtime. The
// fake runtime measures nothing: the test's runtime reports the usage an
// "@usage" input gives.
package browser
