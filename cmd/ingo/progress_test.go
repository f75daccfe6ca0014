package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// On a terminal the status line follows the job; elsewhere nothing is
// printed but SSH credentials.
func TestProgress(t *testing.T) {
	for _, live := range []bool{true, false} {
		var buf bytes.Buffer
		p := newProgress(&buf, "job-1", "docker/default")
		p.live = live
		p.set("queued", waitingDetail(messages.QueueWaitingJob{Position: 2, Reason: messages.WaitSlotsBusy}))
		p.set("running", "on agent a1 (attempt 1)")
		p.println("ssh -p %d %s@%s\npassword: %s", 2222, "worker", "h", "pw")
		p.done(messages.StatusSuccess)
		out := buf.String()
		want := []string{"ssh -p 2222 worker@h\npassword: pw\n"}
		if live {
			want = append(want, "queued   job-1 docker/default", "position 2 (every agent slot is busy)",
				"running  job-1", "on agent a1 (attempt 1)", "done     job-1 success")
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("live=%v: output lacks %q:\n%q", live, w, out)
			}
		}
		if !live && out != want[0] {
			t.Errorf("not a terminal: printed %q, want only the SSH lines", out)
		}
	}
}
