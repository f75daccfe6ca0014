package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSubmitAdmitsValues: a job body's JSON values cost the decoder about
// a hundred times their bytes (1 MB of {"":{}} under an "@" input took
// the API 120 MB), which the upload budget, counting bytes, does not see:
// eight such submissions at once took a live API to 940 MB of RSS. They
// are admitted from valuesBudget before they are decoded; a submission
// that finds it taken waits, then answers 503 busy.
func TestSubmitAdmitsValues(t *testing.T) {
	e := newEnv(t, Options{AdminToken: testToken, UploadWait: 300 * time.Millisecond})
	task := string(tarGz(t, map[string]string{"run": "#!/bin/sh\n"}, nil))
	submit := func() (int, string) {
		list := "[" + strings.Repeat(`{"":{}},`, 999) + `{"":{}}]`
		ct, body := multipartBody(t, [3]string{"job", "", `{"inputs": {"@q": ` + list + `}}`}, [3]string{"task", "t.tgz", task})
		status, answer := e.call("POST", "/api/v1/jobs", ct, strings.NewReader(string(body)))
		return status, string(answer)
	}
	// Two other frontends decode jobs at the bound.
	var releases []func()
	for _, owner := range []string{"frontend:a", "frontend:b"} {
		release, err := e.srv.values.reserve(context.Background(), owner, maxJobValues, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, release)
	}
	if status, answer := submit(); status != http.StatusServiceUnavailable || !strings.Contains(answer, `"busy"`) {
		t.Errorf("with the values budget taken: %d %s, want 503 busy", status, answer)
	}
	for _, release := range releases {
		release()
	}
	if status, answer := submit(); status != http.StatusAccepted {
		t.Errorf("with the values budget free: %d %s", status, answer)
	}
	if e.srv.values.free != valuesBudget {
		t.Errorf("after the submissions the budget has %d free, want all %d back", e.srv.values.free, valuesBudget)
	}
}
