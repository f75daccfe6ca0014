package docker

import (
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// TestRun_LimitResultsKeepThePreviousState: a result the runtime makes
// itself (timeout, overflow) keeps the state the job came with, as
// INGInious' agent does (handle_job_closing starts from
// inputdata["@state"] and reads the grader's feedback only when the
// container was not killed). Before, it was empty, so one timeout reset
// the progress a task keeps in @state; what the run file set before the
// limit (feedback-state new) is not the result's, as there.
func TestRun_LimitResultsKeepThePreviousState(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	cases := []struct {
		name, run string
		memory    int64
		want      messages.Status
	}{
		{"timeout", "#!/bin/sh\nfeedback-state new\nsleep 1000\n", 128, messages.StatusTimeout},
		{"overflow", "#!/usr/bin/env python3\nimport subprocess\nsubprocess.run(['feedback-state', 'new'])\nx = []\nwhile True:\n    x.append(bytearray(8 << 20))\n",
			64, messages.StatusOverflow},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := newJob(r, task(t, map[string]string{"run": tc.run}), map[string]any{"@state": "step-3"})
			job.Limits.Time, job.Limits.HardTime, job.Limits.Memory = 10, 2, tc.memory
			res, _ := runJob(t, r, job)
			if res.Result.Status != tc.want || res.State != "step-3" {
				t.Errorf("result %s, state %q; want %s with the previous state %q", res.Result.Status, res.State, tc.want, "step-3")
			}
		})
	}
}
