package api

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"strings"
	"testing"
)

// multipartBody builds a multipart body from (name, filename, content)
// triples.
func multipartBody(t testing.TB, parts ...[3]string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p[1] != "" {
			w, err = mw.CreateFormFile(p[0], p[1])
		} else {
			w, err = mw.CreateFormField(p[0])
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(p[2])); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

func zipOf(t *testing.T, name, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func manyFiles(t *testing.T, n int) []byte {
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("f%05d", i)] = ""
	}
	return tarGz(t, files, nil)
}

// TestBadInput sends what a careless or hostile frontend might: each gets
// a 4xx JSON error with a clear code, never a panic or a 5xx.
func TestBadInput(t *testing.T) {
	e := newEnv(t, Options{MaxBody: 1 << 20, AdminToken: testToken})
	job := `{"inputs": {"q1": "a"}}`
	withTask := func(archive []byte, filename string) func() (string, []byte) {
		return func() (string, []byte) {
			return multipartBody(t, [3]string{"job", "", job}, [3]string{"task", filename, string(archive)})
		}
	}
	jsonBody := func(s string) func() (string, []byte) {
		return func() (string, []byte) { return "application/json", []byte(s) }
	}
	for _, tc := range []struct {
		name         string
		method, path string
		body         func() (string, []byte)
		status       int
		code         string
	}{
		{"broken JSON", "POST", "/api/v1/jobs", jsonBody(`{"inputs": `), 400, "invalid_json"},
		{"not an object", "POST", "/api/v1/jobs", jsonBody(`[1, 2]`), 400, "invalid_json"},
		{"two values", "POST", "/api/v1/jobs", jsonBody(`{} {}`), 400, "invalid_json"},
		{"priority is a string", "POST", "/api/v1/jobs", jsonBody(`{"priority": "high"}`), 400, "invalid_json"},
		{"limits is a list", "POST", "/api/v1/jobs", jsonBody(`{"limits": [1]}`), 400, "invalid_json"},
		{"input is a number", "POST", "/api/v1/jobs", jsonBody(`{"inputs": {"q1": 5}}`), 400, "bad_input"},
		{"file input without content", "POST", "/api/v1/jobs", jsonBody(`{"inputs": {"f": {"filename": "a"}}}`), 400, "bad_input"},
		{"file input not base64", "POST", "/api/v1/jobs", jsonBody(`{"inputs": {"f": {"filename": "a", "content": "%%"}}}`), 400, "bad_input"},
		{"unknown field", "POST", "/api/v1/jobs", jsonBody(`{"inptus": {}}`), 400, "unknown_field"},
		{"bad job id", "POST", "/api/v1/jobs", jsonBody(`{"job_id": "a/b c"}`), 400, "invalid_job_id"},
		{"negative limit", "POST", "/api/v1/jobs", jsonBody(`{"limits": {"time": -1}}`), 400, "invalid_field"},
		{"bad debug", "POST", "/api/v1/jobs", jsonBody(`{"debug": "yes"}`), 400, "invalid_field"},
		{"bad task bundle", "POST", "/api/v1/jobs", jsonBody(`{"task_bundle": "md5:x"}`), 400, "invalid_field"},
		{"body over MaxBody", "POST", "/api/v1/jobs", jsonBody(`{"inputs": {"q": "` + strings.Repeat("x", 2<<20) + `"}}`), 413, "body_too_large"},
		{"multipart over MaxBody", "POST", "/api/v1/jobs", withTask(bytes.Repeat([]byte{1}, 2<<20), "t.tgz"), 413, "body_too_large"},
		{"text body", "POST", "/api/v1/jobs", func() (string, []byte) { return "text/plain", []byte("hi") }, 415, "unsupported_media_type"},
		{"no job part", "POST", "/api/v1/jobs", func() (string, []byte) {
			return multipartBody(t, [3]string{"file:q", "a.txt", "x"})
		}, 400, "bad_multipart"},
		{"unknown part", "POST", "/api/v1/jobs", func() (string, []byte) {
			return multipartBody(t, [3]string{"job", "", job}, [3]string{"extra", "", "x"})
		}, 400, "bad_multipart"},
		{"broken job part", "POST", "/api/v1/jobs", func() (string, []byte) {
			return multipartBody(t, [3]string{"job", "", "{"})
		}, 400, "invalid_json"},
		{"absolute path", "POST", "/api/v1/jobs", withTask(tarGz(t, map[string]string{"/etc/cron.d/x": "boom"}, nil), "t.tgz"), 400, "unsafe_archive"},
		{"dot dot", "POST", "/api/v1/jobs", withTask(tarGz(t, map[string]string{"../../x": "boom"}, nil), "t.tgz"), 400, "unsafe_archive"},
		{"symlink out", "POST", "/api/v1/jobs", withTask(tarGz(t, map[string]string{"run": "x", "link->../../etc/passwd": ""}, nil), "t.tgz"), 400, "unsafe_archive"},
		{"hard link", "POST", "/api/v1/jobs", withTask(tarGz(t, map[string]string{"h": ""}, func(h *tar.Header) {
			h.Typeflag, h.Linkname, h.Size = tar.TypeLink, "/etc/passwd", 0
		}), "t.tgz"), 400, "unsafe_archive"},
		{"device file", "POST", "/api/v1/jobs", withTask(tarGz(t, map[string]string{"dev": ""}, func(h *tar.Header) {
			h.Typeflag, h.Devmajor, h.Size = tar.TypeChar, 1, 0
		}), "t.tgz"), 400, "unsafe_archive"},
		{"zip with dot dot", "POST", "/api/v1/jobs", withTask(zipOf(t, "../evil", "x"), "t.zip"), 400, "unsafe_archive"},
		{"too many files", "POST", "/api/v1/jobs", withTask(manyFiles(t, 10001), "t.tgz"), 400, "archive_too_large"},
		// No task at all: no run file to run, so it could only end as crash.
		{"JSON job without a task", "POST", "/api/v1/jobs", jsonBody(job), 400, "bad_task"},
		{"course id over 256 bytes", "POST", "/api/v1/jobs", func() (string, []byte) {
			return multipartBody(t, [3]string{"job", "", `{"course_id": "` + strings.Repeat("c", 257) + `"}`},
				[3]string{"task", "t.tgz", string(tarGz(t, map[string]string{"run": "#!/bin/sh\n"}, nil))})
		}, 400, "bad_request"},
		{"multipart job without a task", "POST", "/api/v1/jobs", func() (string, []byte) {
			return multipartBody(t, [3]string{"job", "", job}, [3]string{"file:q", "a.txt", "x"})
		}, 400, "bad_task"},
		{"task without a run file", "POST", "/api/v1/jobs", withTask(tarGz(t, map[string]string{"task.yaml": "environment_id: default\n"}, nil), "t.tgz"), 400, "bad_task"},
		{"not an archive", "POST", "/api/v1/jobs", withTask([]byte("#!/bin/sh\necho hi\n"), "run"), 400, "not_an_archive"},
		{"gzip of no tar", "POST", "/api/v1/jobs", withTask(gzipOf(t, "plain text, not a tar"), "t.tgz"), 400, "bad_archive"},
		{"raw task with dot dot", "POST", "/api/v1/tasks", func() (string, []byte) {
			return "application/gzip", tarGz(t, map[string]string{"a/../../b": "x"}, nil)
		}, 400, "unsafe_archive"},
		{"raw task not an archive", "POST", "/api/v1/tasks", jsonBody(`{}`), 400, "not_an_archive"},
		{"unknown job", "GET", "/api/v1/jobs/no-such-job", nil, 404, "unknown_job"},
		{"unknown job, bad id", "GET", "/api/v1/jobs/a%20b", nil, 404, "unknown_job"},
		{"unknown job events", "GET", "/api/v1/jobs/no-such-job/events", nil, 404, "unknown_job"},
		{"kill unknown job", "DELETE", "/api/v1/jobs/no-such-job", nil, 404, "unknown_job"},
		{"kill without token", "DELETE", "/api/v1/jobs/no-such-job", nil, 401, "unauthorized"},
		{"kill with wrong token", "DELETE", "/api/v1/jobs/no-such-job", nil, 401, "invalid_token"},
		{"unknown route", "GET", "/api/v2/jobs", nil, 404, "not_found"},
		{"empty job id", "GET", "/api/v1/jobs//events", nil, 404, "not_found"},
		{"dot segment", "GET", "/api/v1/jobs/./events", nil, 404, "not_found"},
		{"unknown route under v1", "GET", "/api/v1/nothing/here", nil, 404, "not_found"},
		// The answer names the path as it was asked for; env.call checks
		// that no browser renders it (inert).
		{"unknown route of markup", "GET", "/api/v1/%3Cimg%20src=x%20onerror=alert(1)%3E", nil, 404, "not_found"},
		{"wrong method", "PUT", "/api/v1/jobs", nil, 405, "method_not_allowed"},
		{"wrong method on queue", "POST", "/api/v1/queue", nil, 405, "method_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ct string
			var body io.Reader
			if tc.body != nil {
				var b []byte
				ct, b = tc.body()
				body = bytes.NewReader(b)
			}
			var header []string
			switch tc.name {
			case "kill without token":
				header = bearer("")
			case "kill with wrong token":
				header = bearer("nope")
			}
			status, data := e.call(tc.method, tc.path, ct, body, header...)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, data)
			}
			m := decode(t, data)
			errObj, _ := m["error"].(map[string]any)
			if errObj["code"] != tc.code || errObj["message"] == "" {
				t.Errorf("error %v, want code %q with a message", m, tc.code)
			}
			if msg, _ := errObj["message"].(string); strings.HasSuffix(tc.name, "without a task") &&
				(!strings.Contains(msg, "no task") || !strings.Contains(msg, "task_bundle") || !strings.Contains(msg, `"task" part`)) {
				t.Errorf("%q does not say what is missing (a task archive or task_bundle)", msg)
			}
			if msg, _ := errObj["message"].(string); strings.HasPrefix(tc.name, "course id") && !strings.Contains(msg, "course_id of 257 bytes is longer than 256") {
				t.Errorf("%q does not name the course id and its bound", msg)
			}
			t.Logf("%d %s: %s", status, errObj["code"], errObj["message"])
		})
	}
	if st := e.srv.Stats(); st.JobsSubmitted != 0 {
		t.Errorf("bad requests submitted %d jobs", st.JobsSubmitted)
	}
}
