package agent

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// TestAgent_CrashIsLogged: an attempt that ends as crash (the platform's
// fault: a grading container killed from outside, "The grading container
// stopped without a result.") says so in the agent's log, with the job,
// its attempt and the text. Before, a rehearsal's `docker kill` of a
// grading container gave its student a crash and left no line in any
// log: the operator had nothing to go by. A job that ends well logs
// nothing.
func TestAgent_CrashIsLogged(t *testing.T) {
	t.Parallel()
	var buf testutil.SyncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e := start(t, options{log: log})
	e.backend.autoAck.Store(true)
	e.submit(t, newJob("fine", nil))
	if m := e.done(t, "fine"); m.Result.Status != messages.StatusSuccess {
		t.Fatalf("fine: %s", status(m))
	}
	e.submit(t, newJob("crashed", map[string]any{"result": "crash", "text": "The grading container stopped without a result."}))
	if m := e.done(t, "crashed"); m.Result.Status != messages.StatusCrash {
		t.Fatalf("crashed: %s", status(m))
	}
	var line string
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, "job=crashed") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no log line names the crashed job; the log:\n%s", buf.String())
	}
	for _, want := range []string{"level=WARN", "attempt=1", "stopped without a result", "course=c", "task=t"} {
		if !strings.Contains(line, want) {
			t.Errorf("the crash's log line lacks %q: %s", want, line)
		}
	}
	if strings.Contains(buf.String(), "job=fine") {
		t.Errorf("a job that ended well was logged:\n%s", buf.String())
	}
}
