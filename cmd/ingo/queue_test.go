package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// TestPrintQueue_Summary: a snapshot cut at the backend's bound says how
// many jobs there are in all and which are shown, with the counts per
// environment and course first.
func TestPrintQueue_Summary(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1_800_000_000_000)
	q := &messages.BackendGetQueue{
		JobsWaiting: []messages.QueueWaitingJob{{JobID: "w1", EnvironmentType: "docker", Environment: "default", Position: 1, QueuedAt: now.UnixMilli()}},
		Summary: &messages.QueueSummary{Waiting: 120_000, Truncated: true, Counts: []messages.QueueCount{
			{EnvironmentType: "docker", Environment: "default", CourseID: "algo", Waiting: 100_000},
			{EnvironmentType: "docker", Environment: "toolchain", CourseID: "java", Waiting: 20_000},
		}},
	}
	var b strings.Builder
	if err := printQueue(&b, q, now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"docker/default", "algo", "100000", "docker/toolchain", "java", "20000",
		"running: 0\n", "waiting: 120000 (the first 1)", "w1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "java") > strings.Index(out, "waiting:") {
		t.Errorf("counts should come before the lists:\n%s", out)
	}
}

// TestPrintQueue_CountsNameTheClient: two clients' courses of one id
// (two frontends, two tokens of the HTTP API) are two courses to the
// backend; the counts said "algo" twice, with nothing to tell them apart.
func TestPrintQueue_CountsNameTheClient(t *testing.T) {
	t.Parallel()
	q := &messages.BackendGetQueue{Summary: &messages.QueueSummary{Waiting: 6, Counts: []messages.QueueCount{
		{EnvironmentType: "docker", Environment: "default", ClientID: "ingo-api", Frontend: "alpha", CourseID: "algo", Waiting: 2},
		{EnvironmentType: "docker", Environment: "default", ClientID: "ingo-api", Frontend: "beta", CourseID: "algo", Waiting: 1},
		{EnvironmentType: "docker", Environment: "default", ClientID: "webapp", CourseID: "algo", Waiting: 3},
	}}}
	var b strings.Builder
	if err := printQueue(&b, q, time.UnixMilli(1_800_000_000_000)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	for _, want := range [][]string{
		{"ENVIRONMENT", "CLIENT", "COURSE", "RUNNING", "WAITING"},
		{"docker/default", "ingo-api:alpha", "algo", "0", "2"},
		{"docker/default", "ingo-api:beta", "algo", "0", "1"},
		{"docker/default", "webapp", "algo", "0", "3"},
	} {
		if !slices.ContainsFunc(lines, func(l string) bool { return slices.Equal(strings.Fields(l), want) }) {
			t.Errorf("no line %q in:\n%s", want, b.String())
		}
	}
}

func TestPageOpts_Request(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		o        pageOpts
		envType  string
		env      string
		wantFail bool
	}{
		{o: pageOpts{limit: 10}},
		{o: pageOpts{limit: 10, env: "docker"}, envType: "docker"},
		{o: pageOpts{limit: 10, env: "docker/cpp", course: "algo"}, envType: "docker", env: "cpp"},
		{o: pageOpts{limit: messages.MaxQueuePage + 1}, wantFail: true},
		{o: pageOpts{limit: 0}, wantFail: true},
		{o: pageOpts{limit: 5, env: "/cpp"}, wantFail: true},
	} {
		req, err := tc.o.request()
		if (err != nil) != tc.wantFail {
			t.Errorf("%+v: %v", tc.o, err)
			continue
		}
		if err == nil && (req.EnvironmentType != tc.envType || req.Environment != tc.env || req.CourseID != tc.o.course) {
			t.Errorf("%+v: request %+v", tc.o, req)
		}
	}
}

// A page of --all: the counts before the first page only; unplaced
// waiting jobs show POS "-"; --json gives the next page's cursor.
func TestPrintPage(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1_800_000_000_000)
	q := &messages.BackendGetQueue{
		JobsRunning: []messages.QueueRunningJob{{JobID: "r1", EnvironmentType: "docker", Environment: "default"}},
		JobsWaiting: []messages.QueueWaitingJob{{JobID: "w1", EnvironmentType: "docker", Environment: "default"}},
		Summary:     &messages.QueueSummary{Running: 1, Waiting: 5000},
		Next:        &messages.QueueCursor{EnvironmentType: "docker", Environment: "default", Seq: 9},
	}
	for _, first := range []bool{true, false} {
		var b strings.Builder
		if err := printPage(&b, q, first, now); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.Contains(out, "waiting: 5000") != first || !strings.Contains(out, "r1") || !strings.Contains(out, "\n-  ") {
			t.Errorf("first %v:\n%s", first, out)
		}
	}
	var b strings.Builder
	if err := json.NewEncoder(&b).Encode(pageJSON(q)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Next *string `json:"next"`
	}
	if err := json.Unmarshal([]byte(b.String()), &doc); err != nil || doc.Next == nil {
		t.Fatalf("%s: %v", b.String(), err)
	}
	if c, err := messages.ParseQueueCursor(*doc.Next); err != nil || c.Seq != 9 {
		t.Errorf("next %q: %+v, %v", *doc.Next, c, err)
	}
}

// A job without a task shows "-" in the TASK column, not its environment
// (which has a column of its own).
func TestPrintQueue_TasklessJob(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1_800_000_000_000)
	q := &messages.BackendGetQueue{
		JobsRunning: []messages.QueueRunningJob{{JobID: "r1", EnvironmentType: "docker", Environment: "default", StartedAt: now.UnixMilli()}},
		JobsWaiting: []messages.QueueWaitingJob{{JobID: "w1", EnvironmentType: "docker", Environment: "default", Position: 1, QueuedAt: now.UnixMilli()}},
	}
	var b strings.Builder
	if err := printQueue(&b, q, now); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"r1", "w1"} {
		var row []string
		for _, line := range strings.Split(b.String(), "\n") {
			if f := strings.Fields(line); len(f) > 2 && slices.Contains(f, id) {
				row = f
			}
		}
		i := slices.Index(row, id)
		if i < 0 || row[i+1] != "-" || row[i+2] != "docker/default" {
			t.Errorf("row of %s: %q, want TASK \"-\" then ENVIRONMENT docker/default\n%s", id, row, b.String())
		}
	}
}

// Positions count per queue: jobs of two environments are two tables,
// each headed by its queue, not one table with two jobs at POS 1.
func TestPrintQueue_PositionsPerQueue(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1_800_000_000_000)
	job := func(id, env string, pos int) messages.QueueWaitingJob {
		return messages.QueueWaitingJob{JobID: id, EnvironmentType: "docker", Environment: env, Position: pos, QueuedAt: now.UnixMilli()}
	}
	cases := []struct {
		name string
		jobs []messages.QueueWaitingJob
		want []string // in this order
		not  string
	}{
		{"one queue: no heading", []messages.QueueWaitingJob{job("a1", "default", 1), job("a2", "default", 2)},
			[]string{"POS", "a1", "a2"}, "queue docker/"},
		{"two queues", []messages.QueueWaitingJob{job("a1", "default", 1), job("b1", "java", 1), job("a2", "default", 2)},
			[]string{"queue docker/default:", "a1", "a2", "queue docker/java:", "b1"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			if err := printWaiting(&b, c.jobs, now); err != nil {
				t.Fatal(err)
			}
			out, at := b.String(), 0
			for _, w := range c.want {
				i := strings.Index(out[at:], w)
				if i < 0 {
					t.Fatalf("%q missing or out of order:\n%s", w, out)
				}
				at += i + len(w)
			}
			if c.not != "" && strings.Contains(out, c.not) {
				t.Errorf("output holds %q:\n%s", c.not, out)
			}
		})
	}
}

// TestDocs_WaitReasons: docs/operators.md gives, for every reason a job
// waits, the text ingo queue shows and the code of --json. Before, it
// gave four codes the table does not show, and not fair_share.
func TestDocs_WaitReasons(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "operators.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(doc)), " ")
	for _, r := range []messages.WaitReason{messages.WaitNoAgent, messages.WaitSlotsBusy, messages.WaitQueued,
		messages.WaitLowerPriority, messages.WaitFairShare} {
		if !strings.Contains(text, "`"+string(r)+"`") || !strings.Contains(text, `"`+waitReason(r)+`"`) {
			t.Errorf("docs/operators.md does not give %q with its text %q", r, waitReason(r))
		}
	}
}
