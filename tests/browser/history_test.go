package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/messages"
)

// The job history in the page: jobs submitted elsewhere (as by `ingo
// submit`) before the page was opened show in Recently finished and in the
// job view, with their times and usage, and the per-course summary counts
// them.

// cliFeedback is the feedback of the CLI's failed job: markup, to be
// shown as text.
const cliFeedback = `<script>document.title="pwned"</script>3 of 7 tests pass <b id="cli-injected">!</b>`

// cliUsage is what the CLI's failed job "used" (withUsage).
var cliUsage = map[string]any{"wall_time": 0.4, "cpu_time": 0.21, "memory_peak": 48.0}

// submitElsewhere submits a job from another frontendclient, an admin one
// as the CLI is, with a CLI's launcher, and waits for its result.
func submitElsewhere(t *testing.T, sys *ingo, id, course, task string, behaviour, usage map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), step)
	defer cancel()
	cl, err := frontendclient.New(ctx, sys.connect("cli-"+id), frontendclient.Options{ClientID: "cli-" + id, Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	input := map[string]any{"@fake": behaviour}
	if usage != nil {
		input["@usage"] = usage
	}
	// A task folder, as the CLI sends.
	dir := t.TempDir()
	for _, f := range helloTask {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.body), os.FileMode(f.mode)); err != nil {
			t.Fatal(err)
		}
	}
	job, err := cl.NewJob(ctx, frontendclient.JobRequest{ClientNewJob: messages.ClientNewJob{
		JobDescription: messages.JobDescription{JobID: id, CourseID: course, TaskID: task,
			EnvironmentType: "docker", Environment: "default", InputData: input},
		Launcher: "CLI - ada"}, TaskDir: dir})
	if err != nil {
		t.Fatalf("submit %s: %v", id, err)
	}
	if _, err := job.Wait(ctx); err != nil {
		t.Fatalf("result of %s: %v", id, err)
	}
}

// withUsage sets the result's usage to the job's "@usage" input (a map,
// or JSON from the HTTP API): the fake runtime measures nothing.
func withUsage(job *containers.Job, res *messages.JobResult) error {
	raw, ok := job.Desc.InputData["@usage"]
	if !ok {
		return nil
	}
	data, ok := raw.(string)
	if !ok {
		b, err := json.Marshal(raw)
		if err != nil {
			return fmt.Errorf("@usage: %w", err)
		}
		data = string(b)
	}
	var u messages.Usage
	if err := json.Unmarshal([]byte(data), &u); err != nil {
		return &containers.Failure{Public: "@usage is not a usage: " + err.Error()}
	}
	res.Usage = &u
	return nil
}

// historySteps runs once the page is connected, before any job of the
// page's own: all it shows of the two CLI jobs comes from the history.
func historySteps(t *testing.T, p *page) {
	t.Helper()
	p.do("see the CLI's jobs", chromedp.WaitVisible(chromedp.CSS(`#recent tr[data-job="cli-early"][data-status="failed"][data-source="history"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#recent tr[data-job="cli-early-2"][data-status="success"][data-source="history"]`)))
	row := `#recent tr[data-job="cli-early"]`
	for _, want := range []string{"algo/sort", "CLI - ada", "42"} {
		p.contains(row, want)
	}
	p.shot("01a-history-recent")

	// The job view, from GET /api/v1/jobs/{id} answered by the history.
	p.do("open cli-early", chromedp.Click(chromedp.CSS(row+` button[data-action="show"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail[data-job="cli-early"] dd [data-field="result-status"]`)))
	p.equal(`#detail [data-field="status"]`, "done")
	p.equal(`#detail dd [data-field="result-status"]`, "failed")
	p.equal(`#detail [data-field="grade"]`, "42")
	p.equal(`#detail [data-field="usage"]`, "0.21 s CPU, 48 MiB peak, 0.4 s wall")
	p.equal(`#detail [data-field="task"]`, "algo/sort")
	p.equal(`#detail [data-field="environment"]`, "docker/default")
	p.equal(`#detail [data-field="launcher"]`, "CLI - ada")
	p.contains(`#detail [data-field="agent"]`, "browser-1")
	p.equal(`#detail [data-field="attempt"]`, "1")
	p.contains(`#detail [data-field="started"]`, "(waited ")
	p.contains(`#detail [data-field="finished"]`, "(ran ")
	if s := p.text(`#detail [data-field="submitted"]`); s == "—" || s == "<missing>" {
		t.Errorf("the job view shows no submission time: %q", s)
	}
	p.equal(`#detail pre.feedback`, cliFeedback)
	if n := p.eval(`document.querySelectorAll("#cli-injected, #detail script").length + (document.title === "pwned" ? 100 : 0)`); n != 0 {
		t.Errorf("the history's feedback was rendered as HTML (%d elements or handlers)", n)
	}
	p.shot("01b-history-job")
	p.do("close the job view", chromedp.Click(chromedp.CSS(`#detail button[data-action="close-detail"]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#detail`)))

	// Per course, over the last 24 hours: both CLI jobs, one each.
	course := `#courses tr[data-course="algo"]`
	p.do("see the course algo", chromedp.ScrollIntoView(chromedp.CSS(`#courses-card`)),
		chromedp.WaitVisible(chromedp.CSS(course)))
	p.waitText(course+` [data-field="finished"]`, "2")
	p.contains(course+` [data-field="statuses"]`, "success 1")
	p.contains(course+` [data-field="statuses"]`, "failed 1")
	for _, f := range []string{"median-wait", "median-run"} {
		if s := p.text(course + ` [data-field="` + f + `"]`); s == "—" || s == "<missing>" {
			t.Errorf("%s of algo: %q, want a time", f, s)
		}
	}
	// Another window asks again (the note names its start).
	before := p.text(`#courses-note`)
	p.str(`(() => { const s = document.querySelector("#courses-window"); s.value = "1h"; s.dispatchEvent(new Event("change")); return s.value; })()`)
	p.waitFor("the summary of the last hour", func() bool { return p.text(`#courses-note`) != before })
	p.waitText(course+` [data-field="finished"]`, "2")
	p.shot("01c-courses")
}

// coursesAfter runs at the end: the page's own jobs count too, the form's
// (no course) apart, with a total line.
func coursesAfter(t *testing.T, p *page) {
	t.Helper()
	p.do("see the courses", chromedp.ScrollIntoView(chromedp.CSS(`#courses-card`)))
	course := `#courses tr[data-course="course"]`
	p.waitText(course+` [data-field="finished"]`, "3") // sleepy, stuck, patient
	p.contains(course+` [data-field="statuses"]`, "success 1")
	p.contains(course+` [data-field="statuses"]`, "killed 2")
	p.waitText(`#courses tr[data-course=""] [data-field="finished"]`, "1") // the form's hello
	p.contains(`#courses tr[data-course=""]`, "(no course)")
	p.waitText(`#courses tfoot tr[data-total] [data-field="finished"]`, "6")
	p.shot("09-courses")
}

// waitText waits until sel shows want (spaces trimmed).
func (p *page) waitText(sel, want string) {
	p.t.Helper()
	var got string
	if !p.poll(func() bool { got = p.text(sel); return trim(got) == want }) {
		p.shot("failed-wait-" + want)
		p.t.Fatalf("%s shows %q, want %q", sel, got, want)
	}
}

// waitFor waits until ok, at most step.
func (p *page) waitFor(what string, ok func() bool) {
	p.t.Helper()
	if !p.poll(ok) {
		p.shot("failed-wait")
		p.t.Fatalf("%s: not within %v", what, step)
	}
}

func (p *page) poll(ok func() bool) bool {
	for end := time.Now().Add(step); ; time.Sleep(100 * time.Millisecond) {
		if ok() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}
