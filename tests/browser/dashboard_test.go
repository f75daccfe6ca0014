package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// step bounds each wait in the page; the whole test stays under a minute.
const step = 10 * time.Second

// adminToken is the API's: every /api/v1 request needs it.
const adminToken = "s3cret-admin"

// feedback is what the first job's grader says: markup that must show as
// text, never become elements.
const feedback = `<b id="injected">not bold</b> & <img src=x onerror="document.title='pwned'">`

func TestDashboard(t *testing.T) {
	chromium := findChromium(t)
	shots := shotsDir(t)
	start := time.Now()

	sys := startIngo(t)
	url, posts := sys.url, sys.posts

	// Jobs submitted elsewhere (as by `ingo submit`) before the page
	// opens: it can only know them from the job history.
	submitElsewhere(t, sys, "cli-early", "algo", "sort", map[string]any{"sleep": "300ms", "result": "failed",
		"grade": 42, "text": cliFeedback}, cliUsage)
	submitElsewhere(t, sys, "cli-early-2", "algo", "sort", map[string]any{"sleep": "100ms", "grade": 100}, nil)

	// The browser. Its life is bound to the context of its first Run,
	// which has no timeout; each later step gets its own.
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("disable-dev-shm-usage", true), // /dev/shm is small in containers
		chromedp.Flag("hide-scrollbars", true),
	)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	{
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- chromedp.Do(browser) }() // starts Chromium
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("start %s: %v", chromium, err)
			}
		case <-ctx.Done():
			t.Fatalf("%s did not start within 20s", chromium)
		}
	}
	problems := watchPage(t, browser)

	p := &page{t: t, ctx: browser, shots: shots}

	// 1. The page asks for a token first, keeps it in the tab (never in
	// the URL), then connects and shows the agent.
	p.do("load the page", chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#token-dialog[open] #token-input`)))
	p.shot("00-token")
	p.do("give the token", chromedp.SendKeys(chromedp.CSS(`#token-input`), adminToken),
		chromedp.Click(chromedp.CSS(`#token-dialog button[value="ok"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#conn[data-state="live"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#agents tbody tr:not(.empty)`)))
	if p.str(`sessionStorage.getItem("ingo-api-token")`) != adminToken || strings.Contains(p.str(`location.href`), adminToken) {
		t.Error("the token is not in sessionStorage, or it is in the URL")
	}
	p.contains("#agents", "agent browser-1")
	p.contains("#environments", "docker/default")
	p.shot("01-idle")

	historySteps(t, p)

	// 2. A job that sleeps 2 s: running, then finished with its result.
	submit(t, sys, "sleepy", map[string]any{"sleep": "2s", "text": feedback, "grade": 75,
		"problems": map[string]any{"q1": map[string]string{"status": "failed", "text": "q1: <i>wrong</i>"}}})
	p.do("see sleepy running", chromedp.WaitVisible(chromedp.CSS(`#running tr[data-job="sleepy"]`)))
	p.contains(`#running tr[data-job="sleepy"]`, "agent browser-1")
	p.shot("02-running")
	p.do("see sleepy finish", chromedp.WaitVisible(chromedp.CSS(`#recent tr[data-job="sleepy"][data-status="success"]`)))
	p.do("open sleepy", chromedp.Click(chromedp.CSS(`#recent tr[data-job="sleepy"] button[data-action="show"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail[data-job="sleepy"] dd [data-field="result-status"]`)))
	p.equal(`#detail [data-field="status"]`, "done")
	p.equal(`#detail dd [data-field="result-status"]`, "success")
	p.equal(`#detail [data-field="grade"]`, "75")
	p.equal(`#detail pre.feedback`, feedback)
	p.contains(`#detail table.problems`, "q1: <i>wrong</i>")
	if n := p.eval(`document.querySelectorAll("#injected, #detail img, #detail i").length + (document.title === "pwned" ? 100 : 0)`); n != 0 {
		t.Errorf("feedback was rendered as HTML (%d elements or handlers)", n)
	}
	p.shot("03-result")

	// 3. Two jobs that hang on an agent with one slot: one runs, one
	// waits. Kill the waiting one, then the running one, with the page's
	// buttons.
	submit(t, sys, "stuck", map[string]any{"hang": true})
	p.do("see stuck running", chromedp.WaitVisible(chromedp.CSS(`#running tr[data-job="stuck"]`)))
	submit(t, sys, "patient", map[string]any{"hang": true})
	p.do("see patient waiting", chromedp.WaitVisible(chromedp.CSS(`#waiting tr[data-job="patient"]`)))
	p.contains(`#waiting tr[data-job="patient"]`, "Next in line; every slot is busy")
	p.do("open stuck", chromedp.Click(chromedp.CSS(`#running tr[data-job="stuck"] button[data-action="show"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail[data-job="stuck"] .detail-actions button[data-action="kill"]`)))
	p.equal(`#detail [data-field="status"]`, "running")
	p.shot("04-queue")

	killSteps(t, p, sys.deletes)
	p.equal(`#detail [data-field="status"]`, "done")
	p.equal(`#detail dd [data-field="result-status"]`, "killed")
	p.contains(`#running`, "No job is running.")
	p.contains(`#waiting`, "No job is waiting.")
	p.shot("06-killed")

	// 4. Looking a job up by id.
	p.do("look up sleepy", chromedp.SendKeys(chromedp.CSS(`#lookup-id`), "sleepy"),
		chromedp.Click(chromedp.CSS(`#lookup button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail[data-job="sleepy"] dd [data-field="result-status"]`)))
	p.equal(`#detail dd [data-field="result-status"]`, "success")

	// 5. Submitting a task folder with the page's form. A line without
	// "=" is refused in the page: nothing reaches the API.
	dir := t.TempDir()
	archive := taskArchive(t, dir)
	before := posts.Load()
	p.do("submit a bad line", chromedp.ScrollIntoView(chromedp.CSS(`#submit-card`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#submit-task`), []string{archive}),
		chromedp.SetValue(chromedp.CSS(`#submit-answers`), "name=Browser\nno equals sign"),
		chromedp.Click(chromedp.CSS(`#submit-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#submit-error`)))
	p.contains(`#submit-error`, `Line 2 ("no equals sign") has no "="`)
	if p.str(`String(document.querySelector("#submit-answers").getAttribute("aria-invalid"))`) != "true" {
		t.Error("the answers are not marked invalid")
	}
	p.shot("07-submit-bad-line")

	// The API's error message shows inline: a file that is no archive.
	broken := filepath.Join(dir, "broken.tgz")
	if err := os.WriteFile(broken, []byte("not an archive\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.do("submit a broken archive", chromedp.SetUploadFiles(chromedp.CSS(`#submit-task`), []string{broken}),
		chromedp.SetValue(chromedp.CSS(`#submit-answers`), "name=Browser"),
		chromedp.Click(chromedp.CSS(`#submit-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#submit-error`)),
		chromedp.WaitVisible(chromedp.CSS(`#submit-button:enabled`)))
	p.contains(`#submit-error`, "the task is not a .tar.gz, .tgz, .tar or .zip archive")
	if n := posts.Load() - before; n != 1 {
		t.Errorf("%d job submissions reached the API, want 1 (the broken archive only)", n)
	}

	// A good one: the detail view opens on the new job and follows it to
	// its result. "@fake" is a JSON string, decoded by jsonFake.
	p.do("submit hello", chromedp.SetUploadFiles(chromedp.CSS(`#submit-task`), []string{archive}),
		chromedp.SetValue(chromedp.CSS(`#submit-answers`), "name=Browser\n\n@fake={\"sleep\": \"300ms\", \"text\": \"Hello, Browser!\", \"grade\": 90}\n"),
		chromedp.SetValue(chromedp.CSS(`#submit-env-type`), "docker"),
		chromedp.SetValue(chromedp.CSS(`#submit-env`), "default"),
		chromedp.SetValue(chromedp.CSS(`#submit-priority`), "2"),
		chromedp.Click(chromedp.CSS(`#submit-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail:not([data-job="sleepy"])`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail:not([data-job="sleepy"]) dd [data-field="result-status"]`)))
	id := p.str(`document.querySelector("#detail").dataset.job`)
	p.equal(`#detail [data-field="status"]`, "done")
	p.equal(`#detail dd [data-field="result-status"]`, "success")
	p.equal(`#detail [data-field="grade"]`, "90")
	p.equal(`#detail pre.feedback`, "Hello, Browser!")
	if n := p.eval(`document.querySelector("#submit-error").hidden ? 0 : 1`); n != 0 {
		t.Error("the form still shows an error after a good submission")
	}
	// The snapshot after the result moves it to the finished jobs.
	p.do("see hello finish", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#recent tr[data-job=%q][data-status="success"]`, id))))
	p.contains(fmt.Sprintf(`#recent tr[data-job=%q]`, id), "hello")
	p.contains(fmt.Sprintf(`#recent tr[data-job=%q]`, id), "dashboard")
	p.shot("08-submitted")
	checkSubmitted(t, url, id)

	coursesAfter(t, p)

	for _, msg := range problems() {
		t.Errorf("page: %s", msg)
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("the test took %v, more than a minute", d)
	}
}
