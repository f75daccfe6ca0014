package api

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
)

// FuzzMultipart feeds the submission parser (multipart.go, then buildJob
// and the wire check) arbitrary bodies: it must never panic, must answer
// every refusal with an error that knows its HTTP answer, and must never
// keep more file bytes than one job's message may carry. Run it longer
// with: go test -run '^$' -fuzz FuzzMultipart -fuzztime 60s ./gateway/http/
func FuzzMultipart(f *testing.F) {
	const boundary = "fuzz-boundary"
	seed := func(parts ...[3]string) {
		_, body := multipartBody(f, parts...)
		// multipartBody picks a random boundary: use ours.
		i := bytes.Index(body, []byte("\r\n"))
		f.Add(bytes.ReplaceAll(body, body[2:i], []byte(boundary)))
	}
	seed([3]string{"job", "", `{"job_id": "j", "inputs": {"q": "a", "l": ["x", "y"]}, "limits": {"time": 5}}`})
	seed([3]string{"job", "", `{}`}, [3]string{"file:code", "a.py", "print(1)\n"}, [3]string{"file:b", "", ""})
	seed([3]string{"job", "", `{"inputs": {"@fake": {"deep": [[[1]]]}}}`},
		[3]string{"task", "t.tgz", string(tarGz(f, map[string]string{"task.yaml": "limits:\n  time: 3\n", "run": "#!/bin/sh\n"}, nil))})
	seed([3]string{"job", "", `{"debug": "ssh", "network_grading": true}`}, [3]string{"file:x", "\xff.bin", "\x00\x01"})
	seed([3]string{"job", "", `{}`}, [3]string{"job", "", `{}`})
	seed([3]string{"file:q", "f", "x"}, [3]string{"unknown", "", "x"})
	f.Add([]byte("--" + boundary + "\r\nContent-Disposition: form-data; name=\"job\"\r\n\r\n{\"inputs\": {\"q\": \"" + strings.Repeat("x", 100) + "\"}}"))

	s := &Server{opts: Options{MaxBody: 1 << 20}.withDefaults(), taskDisk: semaphore.NewWeighted(taskDiskBudget), taskParses: semaphore.NewWeighted(maxTaskParses), values: newUploadBudget(valuesBudget, maxJobValues), specs: newTaskSpecs(maxSpecBytesPerOwner)}
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/api/v1/jobs", bytes.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		req.Body = http.MaxBytesReader(nil, req.Body, s.opts.MaxBody)
		sub, cleanup, err := s.parseSubmission(req)
		defer cleanup()
		if err != nil {
			checkAnswered(t, err)
			return
		}
		var files int64
		for _, f := range sub.files {
			files += int64(len(f["value"].([]byte)))
		}
		if files > s.jobLimit() {
			t.Fatalf("%d bytes of files kept, over the limit of %d", files, s.jobLimit())
		}
		m, _, err := s.buildJob(context.Background(), &sub, principal{role: apitoken.RoleAdmin, name: adminName}, now)
		if err != nil {
			checkAnswered(t, err)
			return
		}
		if err := testPolicy.check(&m.JobDescription); err != nil {
			checkAnswered(t, err)
		}
		if _, err := s.checkWire(&m); err != nil {
			checkAnswered(t, err)
		}
	})
}

// checkAnswered fails unless err carries its HTTP answer (as fail sends
// it): a refusal of the client's input, never an internal error.
func checkAnswered(t *testing.T, err error) {
	t.Helper()
	var he *httpError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
	case errors.As(err, &he):
		if he.status < 400 || he.status >= 500 {
			t.Fatalf("a client's input answered %d: %v", he.status, err)
		}
	default:
		t.Fatalf("an error without its answer (a 500): %T %v", err, err)
	}
}
