package security

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/internal/bundle"
)

// Attacks on the HTTP API of ingo up: tokens, origins, roles, body sizes.

// rssBound is how much ingo up's resident memory may grow under an
// attack. The API reads request bodies within api.upload-memory (64 MiB
// by default: a body reserves four times its size of it, at most half of
// it per token, before it is read, and file parts go to disk); twice that
// leaves
// room for the Go heap's garbage (GOGC=100 lets the heap reach twice what
// is live before a collection), and twice again for what the rest of
// ingo up allocates meanwhile. A server that read six 60 MB bodies into
// memory would grow by 360 MB at least.
const rssBound = 256 << 20

// uploadSize is the size of each upload of the six: under api.max-body
// (64 MiB), so that only the API's finer bounds can refuse it.
const uploadSize = 60_000_000

func attackHTTP(t *testing.T, s *suite) {
	admin := s.a.adminToken(t)
	s.addSecret("the API admin token", admin)
	out, _, err := s.a.cli(t, "token", "--role", "frontend", "--name", "course-x", "--data-dir", s.a.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	frontend := strings.TrimSpace(out)
	s.addSecret("a frontend token of ingo token", frontend)
	otherKey := make([]byte, apitoken.KeySize)
	foreign, err := apitoken.Issue(otherKey, apitoken.RoleAdmin, "admin", time.Now())
	if err != nil {
		t.Fatal(err)
	}

	// A real job of the admin's, for the requests that name one.
	body, ctype := multipartJob(t, `{"inputs": {}}`, tgz(t, s.sleeperTask(t, 3)))
	code, answer := send(t, "POST", s.a.httpBase+"/api/v1/jobs", ctype, admin, body, nil)
	var accepted struct {
		JobID string `json:"job_id"`
	}
	if code != http.StatusAccepted || json.Unmarshal([]byte(answer), &accepted) != nil {
		t.Fatalf("POST /api/v1/jobs with the admin token: %d %s", code, answer)
	}
	job := "/api/v1/jobs/" + accepted.JobID

	// A task the admin stored: a frontend token that learnt its digest
	// must not have its own code graded with that folder.
	code, answer = send(t, "POST", s.a.httpBase+"/api/v1/tasks", "application/gzip", admin, tgz(t, s.sleeperTask(t, 0)), nil)
	var stored struct {
		TaskBundle string `json:"task_bundle"`
	}
	if code != http.StatusCreated || json.Unmarshal([]byte(answer), &stored) != nil {
		t.Fatalf("POST /api/v1/tasks with the admin token: %d %s", code, answer)
	}

	// Requests as JSON: each row must get its status.
	type request struct {
		name, what, method, path, token, body string
		want                                  int
	}
	var rows []request
	for _, tok := range []struct{ name, label, value string }{
		{"no-token", "without a token", ""},
		{"foreign-token", "with an admin token signed by another installation's key", foreign},
		{"garbage-token", "with a made-up bearer token", "ingo_e30.AAAA"},
	} {
		for _, rq := range []struct{ name, method, path, body string }{
			{"post-jobs", "POST", "/api/v1/jobs", `{"inputs": {}}`}, {"get-job", "GET", job, ""},
			{"get-queue", "GET", "/api/v1/queue", ""}, {"delete-job", "DELETE", job, ""},
		} {
			what := fmt.Sprintf("%s %s %s", rq.method, strings.Replace(rq.path, accepted.JobID, "<admin's running job>", 1), tok.label)
			rows = append(rows, request{tok.name + "-" + rq.name, what, rq.method, rq.path, tok.value, rq.body, http.StatusUnauthorized})
		}
	}
	rows = append(rows,
		request{"frontend-network", `frontend token submits {"network_grading": true}`, "POST", "/api/v1/jobs", frontend, `{"network_grading": true}`, http.StatusForbidden},
		request{"frontend-ssh", `frontend token submits {"debug": "ssh"}`, "POST", "/api/v1/jobs", frontend, `{"debug": "ssh"}`, http.StatusForbidden},
		request{"frontend-limits", `frontend token submits {"limits": {"memory": 4096}}`, "POST", "/api/v1/jobs", frontend, `{"limits": {"memory": 4096}}`, http.StatusForbidden},
		request{"frontend-digest-http", "frontend token submits a job naming the task bundle the admin stored through the API (it learnt the digest)", "POST", "/api/v1/jobs", frontend, fmt.Sprintf(`{"task_bundle": %q}`, stored.TaskBundle), http.StatusNotFound},
		request{"frontend-get-other", "frontend token reads the admin's job", "GET", job, frontend, "", http.StatusNotFound},
		request{"frontend-kill-other", "frontend token kills the admin's job", "DELETE", job, frontend, "", http.StatusNotFound},
	)
	for _, row := range rows {
		attack(t, row.name, row.what, func(t *testing.T, r *record) {
			code, answer := send(t, row.method, s.a.httpBase+row.path, "application/json", row.token, []byte(row.body), nil)
			r.add("%d %s", code, errorCode(answer))
			if code != row.want {
				t.Errorf("%d %s, want %d", code, answer, row.want)
			}
		})
	}

	for _, row := range []struct {
		name, what string
		headers    map[string]string
	}{
		{"origin", "multipart POST /api/v1/jobs with the admin token from Origin: http://evil.example", map[string]string{"Origin": "http://evil.example"}},
		{"sec-fetch-site", "multipart POST /api/v1/jobs with the admin token and Sec-Fetch-Site: cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}},
	} {
		attack(t, row.name, row.what, func(t *testing.T, r *record) {
			body, ctype := multipartJob(t, `{"inputs": {}}`, tgz(t, s.sleeperTask(t, 0)))
			code, answer := send(t, "POST", s.a.httpBase+"/api/v1/jobs", ctype, admin, body, row.headers)
			r.add("%d %s", code, errorCode(answer))
			if code != http.StatusForbidden {
				t.Errorf("%d %s, want 403", code, answer)
			}
		})
	}

	attack(t, "uploads", fmt.Sprintf("six concurrent %d MB multipart uploads (a file answer each, three with Content-Length, three chunked) with a frontend token", uploadSize/1_000_000), func(t *testing.T, r *record) {
		pid := s.a.proc.Pid()
		before, err := rss(pid)
		if err != nil {
			t.Fatal(err)
		}
		codes := make([]string, 6)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Go(func() {
				code, answer, err := upload(s.a.httpBase, frontend, i%2 == 0)
				switch {
				case err != nil:
					codes[i] = "error " + short(err)
				default:
					codes[i] = fmt.Sprintf("%d %s", code, errorCode(answer))
				}
			})
		}
		wg.Wait()
		after, err := rss(pid)
		if err != nil {
			t.Fatal(err)
		}
		r.add("answers [%s]; ingo up RSS %s -> %s (bound +%s)", strings.Join(codes, ", "), mib(before), mib(after), mib(rssBound))
		// Each is refused: over its answer's bound once read (413), or, if
		// the token's half of the upload memory stayed held by the others
		// for api.upload-wait, told to come back (503 busy).
		for _, c := range codes {
			if !strings.HasPrefix(c, "413 ") && c != "503 busy" {
				t.Errorf("an upload was answered %s, want 413, or 503 busy", c)
			}
		}
		if after-before > rssBound {
			t.Errorf("RSS grew by %s, over %s", mib(after-before), mib(rssBound))
		}
		if err := s.a.alive(); err != nil {
			t.Fatal(err)
		}
	})

	attack(t, "victim", "the admin's job the requests above tried to kill", func(t *testing.T, r *record) {
		deadline := time.Now().Add(jobWait)
		for {
			code, answer, err := s.a.get(job, admin)
			var st struct {
				Status string `json:"status"`
				Result *struct {
					Status string `json:"status"`
					Text   string `json:"text"`
				} `json:"result"`
			}
			if err == nil && code == http.StatusOK && json.Unmarshal([]byte(answer), &st) == nil && st.Result != nil {
				r.add("ended %s %q", st.Result.Status, st.Result.Text)
				if st.Result.Status != "success" {
					t.Errorf("the admin's job: %s", answer)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no result within %v: %d %s %v", jobWait, code, answer, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}

// errorCode is the "code" of an API error answer, or the body's start.
func errorCode(body string) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(body), &e) == nil && e.Error.Code != "" {
		return e.Error.Code
	}
	return short(body)
}

// send makes one request, with the bearer token unless "", and returns
// the status and the answer's start.
func send(t *testing.T, method, url, ctype, token string, body []byte, headers map[string]string) (int, string) {
	t.Helper()
	var b io.Reader
	if len(body) > 0 {
		b = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, b)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	code, answer, err := do(req)
	if err != nil {
		t.Fatal(err)
	}
	return code, answer
}

// multipartJob is a POST /api/v1/jobs body: the job JSON and the task
// archive.
func multipartJob(t *testing.T, job string, task []byte) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.WriteField("job", job); err != nil {
		t.Fatal(err)
	}
	fw, err := w.CreateFormFile("task", "task.tgz")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(task); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), w.FormDataContentType()
}

// upload streams one multipart job with a file answer of uploadSize
// bytes, without holding it in memory; chunked leaves Content-Length out.
func upload(base, token string, chunked bool) (int, string, error) {
	var head, foot bytes.Buffer
	w := multipart.NewWriter(&head)
	_ = w.WriteField("job", `{"inputs": {}}`)
	if _, err := w.CreateFormFile("file:code", "code.py"); err != nil {
		return 0, "", err
	}
	boundary := w.Boundary()
	fmt.Fprintf(&foot, "\r\n--%s--\r\n", boundary)
	body := io.MultiReader(bytes.NewReader(head.Bytes()), io.LimitReader(repeatReader('a'), uploadSize), bytes.NewReader(foot.Bytes()))
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/jobs", body)
	if err != nil {
		return 0, "", err
	}
	req.ContentLength = int64(head.Len() + uploadSize + foot.Len())
	if chunked {
		req.ContentLength = -1
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	return do(req)
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// tgz is a task folder as a .tar.gz, as `tar czf t.tgz -C DIR .` makes
// it: a task bundle's bytes are exactly that.
func tgz(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := bundle.Pack(dir, bundle.PackLimits{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
