// Package browser tests the admin dashboard (gateway/http/dashboard) in a real
// headless Chromium, driven over the DevTools protocol with chromedp.
//
// The test runs a whole ingo in the process — an embedded NATS, a backend,
// an agent with the fake runtime, the HTTP API with the dashboard mounted
// at "/" on an httptest server — loads the page, submits jobs through the
// HTTP API and checks what the page shows: a job running, then its result
// (feedback shown as text, not HTML), a waiting job and a running one
// killed with the page's Kill buttons, and a task folder (a tar.gz the
// test builds) submitted with the page's form: a bad answer line refused
// in the page, the API's error shown for a file that is no archive, then
// the job followed to its result. It saves a full-page PNG at each
// step, in $INGO_BROWSER_SHOTS when set (else a temporary folder), and
// checks each is a real image.
//
// Chromium is looked up as $INGO_CHROMIUM, then chromium, chromium-browser,
// google-chrome on PATH. Without one the test is skipped, unless
// INGO_REQUIRE_DOCKER is set (as .ci/run does): then it fails.
//
// The HTTP API takes only strings, lists and files as inputs, while the
// fake runtime wants "@fake" as a map: the test's agent runtime decodes an
// "@fake" string as JSON before handing the job to the fake runtime.
package browser
