package api

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// jsonPath digs into decoded JSON: get(m, "result", "custom", "echo").
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// followToDone reads a job's stream and returns its done event's result.
func (e *env) followToDone(id string) (names []string, result map[string]any) {
	e.t.Helper()
	evs := e.events("/api/v1/jobs/" + id + "/events")
	for _, ev := range evs {
		names = append(names, ev.name)
	}
	if len(evs) == 0 || evs[len(evs)-1].name != "done" {
		e.t.Fatalf("job %s: events %v do not end with done", id, names)
	}
	return names, decode(e.t, []byte(evs[len(evs)-1].data))
}

func (e *env) waitReady() {
	e.t.Helper()
	testutil.Eventually(e.t, wait, func() bool {
		status, _ := e.call("GET", "/readyz", "", nil)
		return status == 200
	}, "/readyz never answered 200")
}

// taskFiles is a small INGInious task folder.
var taskFiles = map[string]string{
	"task.yaml": "environment_id: default\nlimits:\n  time: '7'\n  memory: 100\n",
	"run":       "#!/bin/sh\nfeedback-result success\n",
}

func TestEndToEnd(t *testing.T) {
	e := newEnv(t, Options{AdminToken: testToken})
	e.waitReady()

	if status, data := e.call("GET", "/healthz", "", nil); status != 200 || !strings.Contains(string(data), `"ok"`) {
		t.Errorf("healthz: %d %s", status, data)
	}
	if status, data := e.call("GET", "/api/v1/openapi.json", "", nil); status != 200 || !bytes.Equal(data, openAPI) {
		t.Errorf("openapi.json: %d, %d bytes", status, len(data))
	}
	if _, data := e.call("GET", "/api/v1/environments", "", nil); !reflect.DeepEqual(decode(t, data),
		map[string]any{"environments": map[string]any{"docker": []any{"default"}}}) {
		t.Errorf("environments: %s", data)
	}
	if _, data := e.call("GET", "/api/v1/agents", "", nil); get(decode(t, data)["agents"].([]any)[0], "name") != "agent one" {
		t.Errorf("agents: %s", data)
	}

	t.Run("json", func(t *testing.T) {
		status, data := e.postJSON("/api/v1/jobs", e.job(map[string]any{
			"job_id": "json-1", "course_id": "algo", "task_id": "sort", "priority": 1,
			"limits": map[string]any{"time": 5},
			"inputs": map[string]any{
				"q1": "hello", "many": []string{"a", "b"},
				"f":     map[string]any{"filename": "a.txt", "content": base64.StdEncoding.EncodeToString([]byte("hi"))},
				"@fake": map[string]any{"text": "well done", "grade": 90},
			},
		}))
		if status != 202 || decode(t, data)["job_id"] != "json-1" {
			t.Fatalf("submit: %d %s", status, data)
		}
		names, res := e.followToDone("json-1")
		if names[0] != "queued" || !strings.Contains(strings.Join(names, ","), "started") {
			t.Errorf("events %v", names)
		}
		echo := get(res, "custom", "echo")
		if res["status"] != "success" || res["text"] != "well done" || res["grade"] != 90.0 ||
			get(echo, "input", "q1") != "hello" || !reflect.DeepEqual(get(echo, "input", "many"), []any{"a", "b"}) ||
			get(echo, "input", "f", "filename") != "a.txt" || get(echo, "input", "@username") != "ingo-api" ||
			get(echo, "limits", "time") != 5.0 {
			t.Errorf("result %v", res)
		}
		// A late subscriber gets everything at once, done included.
		if names2, _ := e.followToDone("json-1"); !reflect.DeepEqual(names, names2) {
			t.Errorf("late subscriber got %v, first got %v", names2, names)
		}
		_, data = e.call("GET", "/api/v1/jobs/json-1", "", nil)
		job := decode(t, data)
		if job["status"] != "done" || get(job, "result", "status") != "success" || job["agent"] != "agent one" || job["started_at"] == nil {
			t.Errorf("job %s", data)
		}
		if status, data := e.postJSON("/api/v1/jobs", e.job(map[string]any{"job_id": "json-1"})); status != 409 {
			t.Errorf("same id again: %d %s", status, data)
		}
	})

	t.Run("multipart", func(t *testing.T) {
		archive := tarGz(t, taskFiles, nil)
		ct, body := multipartBody(t,
			[3]string{"job", "", `{"job_id": "mp-1", "inputs": {"q1": "x"}, "limits": {"hard_time": 30}}`},
			[3]string{"task", "task.tgz", string(archive)},
			[3]string{"file:code", "code.py", "print(1)\n"})
		status, data := e.call("POST", "/api/v1/jobs", ct, bytes.NewReader(body))
		if status != 202 {
			t.Fatalf("submit: %d %s", status, data)
		}
		_, res := e.followToDone("mp-1")
		echo := get(res, "custom", "echo")
		digest, _ := get(echo, "task_bundle").(string)
		if res["status"] != "success" || !strings.HasPrefix(digest, "sha256:") ||
			get(echo, "limits", "time") != 7.0 || get(echo, "limits", "memory") != 100.0 || get(echo, "limits", "hard_time") != 30.0 ||
			get(echo, "input", "code", "filename") != "code.py" || get(echo, "input", "q1") != "x" {
			t.Errorf("result %v", res)
		}

		// The same folder uploaded on its own, as a tar.gz and as a zip,
		// is the same bundle; a job can then name it.
		status, data = e.call("POST", "/api/v1/tasks", "application/gzip", bytes.NewReader(archive))
		if status != 201 || decode(t, data)["task_bundle"] != digest {
			t.Errorf("POST tasks: %d %s, want %s", status, data, digest)
		}
		ct, body = multipartBody(t, [3]string{"task", "task.zip", string(zipTask(t))})
		status, data = e.call("POST", "/api/v1/tasks", ct, bytes.NewReader(body))
		if status != 201 || decode(t, data)["task_bundle"] != digest {
			t.Errorf("POST tasks (zip): %d %s, want %s", status, data, digest)
		}
		status, data = e.postJSON("/api/v1/jobs", map[string]any{"job_id": "bundled-1", "task_bundle": digest})
		if status != 202 {
			t.Fatalf("submit with task_bundle: %d %s", status, data)
		}
		if _, res := e.followToDone("bundled-1"); get(res, "custom", "echo", "task_bundle") != digest {
			t.Errorf("result %v", res)
		}
	})

	t.Run("kill", func(t *testing.T) {
		status, data := e.postJSON("/api/v1/jobs", e.job(map[string]any{"job_id": "hang-1", "launcher": "e2e",
			"inputs": map[string]any{"@fake": map[string]any{"hang": true}}}))
		if status != 202 {
			t.Fatalf("submit: %d %s", status, data)
		}
		testutil.Eventually(t, wait, func() bool {
			_, data := e.call("GET", "/api/v1/jobs/hang-1", "", nil)
			return decode(t, data)["status"] == "running"
		}, "hang-1 never ran")
		_, data = e.call("GET", "/api/v1/queue", "", nil)
		q := decode(t, data)
		running, _ := q["running"].([]any)
		if len(running) != 1 || get(running[0], "job_id") != "hang-1" || get(running[0], "agent") != "agent one" ||
			get(running[0], "launcher") != "e2e [admin:admin]" || // the API tags the submitter (history.go)
			get(running[0], "info") != "" || // no course, no task: not its environment
			len(q["agents"].([]any)) != 1 {
			t.Errorf("queue %s", data)
		}
		ev := e.firstEvent("/api/v1/queue/events")
		if ev.name != "queue" || !strings.Contains(ev.data, `"hang-1"`) {
			t.Errorf("queue event %v", ev)
		}
		if status, _ := e.call("DELETE", "/api/v1/jobs/hang-1", "", nil, bearer("")...); status != 401 {
			t.Errorf("kill without token: %d", status)
		}
		auth := bearer(testToken)
		if status, data := e.call("DELETE", "/api/v1/jobs/hang-1", "", nil, auth...); status != 202 {
			t.Fatalf("kill: %d %s", status, data)
		}
		if _, res := e.followToDone("hang-1"); res["status"] != "killed" {
			t.Errorf("result %v", res)
		}
		if status, data := e.call("DELETE", "/api/v1/jobs/hang-1", "", nil, auth...); status != 409 {
			t.Errorf("kill again: %d %s", status, data)
		}
	})

	t.Run("someone else's job", func(t *testing.T) {
		e.hangElsewhere("other", "other-1")
		testutil.Eventually(t, wait, func() bool {
			_, data := e.call("GET", "/api/v1/jobs/other-1", "", nil)
			return decode(t, data)["status"] == "running"
		}, "other-1 not seen running")
		if status, _ := e.call("GET", "/api/v1/jobs/other-1/events", "", nil); status != 404 {
			t.Errorf("events of another client's job: %d", status)
		}
		if status, _ := e.call("DELETE", "/api/v1/jobs/other-1", "", nil, "Authorization", "Bearer "+testToken); status != 202 {
			t.Errorf("kill another client's job: %d", status)
		}
	})

	st := e.srv.Stats()
	if st.JobsSubmitted != 4 || st.SSEClients != 0 || st.JobsKept < 4 {
		t.Errorf("stats %+v", st)
	}
	found := false
	for _, r := range st.Requests {
		found = found || (r.Route == "POST /api/v1/jobs" && r.Code == 202 && r.Count == 4)
	}
	if !found {
		t.Errorf("requests %+v", st.Requests)
	}
}

func zipTask(t *testing.T) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"run", "task.yaml"} {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(0o755)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(taskFiles[name])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestResultsSurviveRestart: a job's result that arrives while the API is
// down reaches the next API process with the same ClientID.
func TestResultsSurviveRestart(t *testing.T) {
	e := newEnv(t, Options{ClientID: "api-restart"})
	e.waitReady()
	status, data := e.postJSON("/api/v1/jobs", e.job(map[string]any{"job_id": "slow-1",
		"inputs": map[string]any{"@fake": map[string]any{"sleep": "500ms"}}}))
	if status != 202 {
		t.Fatalf("submit: %d %s", status, data)
	}
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond) // the result arrives meanwhile, for nobody
	srv, err := New(context.Background(), e.connect("api-2"), Options{ClientID: "api-restart", PingInterval: 100 * time.Millisecond,
		Log: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	testutil.Eventually(t, wait, func() bool {
		v, _, ok := srv.store.view("slow-1")
		return ok && v.Status == statusDone
	}, "the result never reached the restarted API")
	v, _, _ := srv.store.view("slow-1")
	var res map[string]any
	if err := json.Unmarshal(v.Result, &res); err != nil || res["status"] != "success" {
		t.Errorf("result %s", v.Result)
	}
}

// TestNotReadyWithoutBackend: /readyz says 503 while no backend answers,
// and requests that need the backend fail with a JSON error, not a hang.
func TestNotReadyWithoutBackend(t *testing.T) {
	n := testutil.StartNATS(t)
	nc, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "api", Log: testutil.Logger(t), Creds: testutil.Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	srv, err := New(context.Background(), nc, Options{PingInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	e := &env{t: t, srv: srv, url: hs.URL, doc: loadOpenAPI(t)}
	if status, data := e.call("GET", "/readyz", "", nil); status != 503 || !strings.Contains(string(data), "backend_unreachable") {
		t.Errorf("readyz: %d %s", status, data)
	}
	if status, _ := e.call("GET", "/healthz", "", nil); status != 200 {
		t.Errorf("healthz: %d", status)
	}
	// Without NATS the answer says so, not only that the backend is
	// silent: an operator whose API's credentials were revoked looked
	// for a backend that was running.
	n.Stop()
	testutil.Eventually(t, 5*time.Second, func() bool { return !nc.IsConnected() }, "still connected")
	if status, data := e.call("GET", "/readyz", "", nil); status != 503 || !strings.Contains(string(data), "not connected to NATS") {
		t.Errorf("readyz without NATS: %d %s", status, data)
	}
}

// TestSSHStudentTasksAreForAdmins: a docker-ssh job may call ssh_student,
// whose credentials only admin tokens receive, and the agent gives it
// the SSH session's wall time (31 minutes by default) whatever its
// limits. Before, a frontend token's docker-ssh job whose run file slept
// (or, on agents before it, spun) held its slot that long, past
// api.frontend-max-limits, on every slot it could get. Refused, whether
// the request or the task's task.yaml names the type.
func TestSSHStudentTasksAreForAdmins(t *testing.T) {
	e := newEnv(t, Options{})
	e.waitReady()
	front := bearer(e.token(apitoken.RoleFrontend, "moodle"))
	job := e.job(map[string]any{"environment_type": "docker-ssh", "environment": "default",
		"inputs": map[string]any{"@fake": map[string]any{"sleep": "10ms"}}})
	if status, data := e.postJSON("/api/v1/jobs", job, front...); status != 403 || !strings.Contains(string(data), "admin token") {
		t.Errorf("a docker-ssh job with a frontend token: %d %s", status, data)
	}
	task := tarGz(t, map[string]string{
		"run":       "#!/bin/sh\nsleep 1800\n",
		"task.yaml": "environment_type: docker-ssh\nenvironment_id: default\nenvironment_parameters:\n  limits:\n    time: 5\n",
	}, nil)
	ct, body := multipartBody(t, [3]string{"job", "", `{}`}, [3]string{"task", "t.tgz", string(task)})
	if status, data := e.call("POST", "/api/v1/jobs", ct, bytes.NewReader(body), front...); status != 403 || !strings.Contains(string(data), "docker-ssh") {
		t.Errorf("a task of type docker-ssh with a frontend token: %d %s", status, data)
	}
}

// TestSSHIsForAdmins: SSH credentials open a shell in a job's container,
// so only an admin token may ask for an SSH job and receive them.
func TestSSHIsForAdmins(t *testing.T) {
	e := newEnv(t, Options{})
	e.waitReady()
	job := e.job(map[string]any{"job_id": "ssh-1", "debug": "ssh",
		"inputs": map[string]any{"@fake": map[string]any{"ssh": true, "sleep": "200ms"}}})
	front := bearer(e.token(apitoken.RoleFrontend, "moodle"))
	if status, data := e.postJSON("/api/v1/jobs", job, front...); status != 403 || !strings.Contains(string(data), "admin token") {
		t.Fatalf("ssh job with a frontend token: %d %s", status, data)
	}
	if status, data := e.postJSON("/api/v1/jobs", job); status != 202 {
		t.Fatalf("ssh job with the admin token: %d %s", status, data)
	}
	var names []string
	for _, ev := range e.events("/api/v1/jobs/ssh-1/events") {
		names = append(names, ev.name)
	}
	if !strings.Contains(strings.Join(names, ","), "ssh") {
		t.Errorf("events with the admin token: %v (want ssh)", names)
	}
}
