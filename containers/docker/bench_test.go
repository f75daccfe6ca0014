package docker

import (
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// BenchmarkRun_Trivial times one trivial attempt end to end in the runtime
// (list, create, attach, start, files on stdin, wait, result on stdout,
// remove). Compare with
// `docker run --rm --network none ingo/env-minimal`:
//
//	go test ./containers/docker -run '^$' -bench Run_Trivial -benchtime 20x
func BenchmarkRun_Trivial(b *testing.B) {
	r := newTestRuntime(b, Options{})
	tb := task(b, map[string]string{"run": "#!/bin/sh\nfeedback-result success\n"})
	for b.Loop() {
		job := newJob(r, tb, nil)
		job.Desc.Environment = "minimal"
		res, err := r.Run(b.Context(), job, nil)
		if err != nil || res.Result.Status != messages.StatusSuccess {
			b.Fatalf("Run = %+v, %v", res.Result, err)
		}
	}
}
