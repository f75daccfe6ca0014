package browser

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/agent"
	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/fake"
	api "github.com/ingo-grader/ingo/gateway/http"
	"github.com/ingo-grader/ingo/gateway/http/dashboard"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
	"github.com/ingo-grader/ingo/tests/testrig"
)

// ingo is the system under test: the base URL of the API and dashboard,
// counts of the POST and DELETE /api/v1/jobs requests it received, and a
// way to connect to its NATS.
type ingo struct {
	url            string
	posts, deletes *atomic.Int64
	connect        func(name string) *nats.Conn
	// bundle is the digest of the hello task folder, stored once: the
	// jobs the test posts name it (the API refuses a job without a task).
	bundle string
}

// startIngo runs NATS, a durable backend (its job history feeds the
// page), an agent with one slot and the fake runtime, and the HTTP API
// with the dashboard.
func startIngo(t *testing.T) *ingo {
	t.Helper()
	// The agent fetches task folders (the form's uploads) from the
	// bundle store in NATS.
	sys := testrig.Start(t, testrig.Options{Durable: true, Agents: []testrig.Agent{{
		Config:  agent.Config{ID: "browser-1", Name: "agent browser-1", Slots: 1, HeartbeatInterval: 100 * time.Millisecond},
		Runtime: &jsonFake{Runtime: fake.New(fake.Options{Environments: map[string][]string{"docker": {"default"}}})},
	}}})
	connect := sys.Connect

	srv, err := api.New(context.Background(), connect("api"), api.Options{ClientID: "browser-test", AdminToken: adminToken,
		PingInterval: 100 * time.Millisecond, Log: testutil.Logger(t).With("component", "api")})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", dashboard.Handler())
	for _, p := range []string{"/api/", "/healthz", "/readyz"} {
		mux.Handle(p, srv.Handler())
	}
	posts, deletes := new(atomic.Int64), new(atomic.Int64)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/v1/jobs" {
			posts.Add(1)
		}
		if r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/api/v1/jobs/") {
			deletes.Add(1)
		}
		mux.ServeHTTP(w, r)
	}))
	// Cleanups run last first: the API's event streams end (Close), then
	// the HTTP server, which waits for them.
	t.Cleanup(hs.Close)
	t.Cleanup(func() { _ = srv.Close() })

	testutil.Eventually(t, step, func() bool {
		res, err := http.Get(hs.URL + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, "the API is not ready")
	return &ingo{url: hs.URL, posts: posts, deletes: deletes, connect: connect, bundle: storeTask(t, hs.URL)}
}

// storeTask stores the hello task folder with POST /api/v1/tasks and
// returns its task_bundle.
func storeTask(t *testing.T, base string) string {
	t.Helper()
	data, err := os.ReadFile(taskArchive(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), step)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/tasks", bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/gzip")
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("store the task: %v", err)
	}
	defer res.Body.Close()
	var out struct {
		TaskBundle string `json:"task_bundle"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusCreated || out.TaskBundle == "" {
		t.Fatalf("store the task: %s, %v, %q", res.Status, err, out.TaskBundle)
	}
	return out.TaskBundle
}

// helloTask is the files of a task folder like examples/hello.
var helloTask = []struct {
	name, body string
	mode       int64
}{
	{"task.yaml", "name: Hello\nenvironment_type: docker\nenvironment_id: default\n" +
		"problems:\n    name:\n        type: code_single_line\n        name: Your name\n", 0o644},
	{"run", "#!/bin/sh\nfeedback-result success\nfeedback-msg -m \"Hello, $(getinput name)!\"\n", 0o755},
}

// taskArchive writes hello.tgz in dir, a task folder like examples/hello:
// a task.yaml naming docker/default and a run file (the fake runtime
// ignores it).
func taskArchive(t *testing.T, dir string) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range helloTask {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), Typeflag: tar.TypeReg,
			ModTime: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "hello.tgz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkSubmitted reads the job the form submitted from the API: the
// runtime got the answers, the task folder and the form's fields.
func checkSubmitted(t *testing.T, base, id string) {
	t.Helper()
	if id == "" {
		t.Fatal("the detail view names no job")
	}
	ctx, cancel := context.WithTimeout(context.Background(), step)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/jobs/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var job struct {
		Status string `json:"status"`
		Result struct {
			Custom struct {
				Echo struct {
					Environment     string         `json:"environment"`
					TaskBundleBytes int64          `json:"task_bundle_bytes"`
					Input           map[string]any `json:"input"`
				} `json:"echo"`
			} `json:"custom"`
		} `json:"result"`
	}
	if err := json.NewDecoder(res.Body).Decode(&job); err != nil {
		t.Fatalf("GET job %s: %v", id, err)
	}
	echo := job.Result.Custom.Echo
	if job.Status != "done" || echo.Input["name"] != "Browser" || echo.Environment != "docker/default" || echo.TaskBundleBytes <= 0 {
		t.Errorf("job %s: status %q, environment %q, task bundle %d bytes, input %v; want done, docker/default, a bundle, name=Browser",
			id, job.Status, echo.Environment, echo.TaskBundleBytes, echo.Input)
	}
}

// jsonFake is the fake runtime, but it also takes "@fake" as a JSON string
// (the HTTP API accepts only strings, lists and files as inputs), and
// reports the usage "@usage" gives (withUsage).
type jsonFake struct{ *fake.Runtime }

func (r *jsonFake) Run(ctx context.Context, job *containers.Job, ev containers.Events) (messages.JobResult, error) {
	if s, ok := job.Desc.InputData["@fake"].(string); ok {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return messages.JobResult{}, &containers.Failure{Public: "@fake is not JSON: " + err.Error()}
		}
		desc := *job.Desc
		desc.InputData = maps.Clone(desc.InputData)
		desc.InputData["@fake"] = m
		j := *job
		j.Desc = &desc
		job = &j
	}
	res, err := r.Runtime.Run(ctx, job, ev)
	if err == nil {
		err = withUsage(job, &res)
	}
	return res, err
}

// submit posts a job to the HTTP API, as a frontend would.
func submit(t *testing.T, sys *ingo, id string, behaviour map[string]any) {
	t.Helper()
	b, err := json.Marshal(behaviour)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{
		"job_id": id, "course_id": "course", "task_id": "task-" + id,
		"environment_type": "docker", "environment": "default",
		"launcher": "browser test", "inputs": map[string]any{"@fake": string(b), "q1": "an answer"},
		"task_bundle": sys.bundle,
	})
	ctx, cancel := context.WithTimeout(context.Background(), step)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, sys.url+"/api/v1/jobs", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("submit %s: %v", id, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("submit %s: %s: %s", id, res.Status, out)
	}
}
