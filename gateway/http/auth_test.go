package api

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// errorCode is the code of an error answer.
func errorCode(t *testing.T, data []byte) string {
	t.Helper()
	c, _ := get(decode(t, data), "error", "code").(string)
	return c
}

// escalated is tok with its role changed to admin and its signature kept.
func escalated(t *testing.T, tok string) string {
	t.Helper()
	signed, sig, _ := strings.Cut(tok, ".")
	data, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(signed, "ingo_"))
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), `"frontend"`, `"admin"`, 1))
	return "ingo_" + base64.RawURLEncoding.EncodeToString(data) + "." + sig
}

// TestEveryRouteNeedsAToken walks the route table: every /api/v1 route
// answers 401 without a valid token, and the probes stay open.
func TestEveryRouteNeedsAToken(t *testing.T) {
	e := newEnv(t, Options{})
	otherKey, err := apitoken.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := apitoken.Issue(otherKey, apitoken.RoleAdmin, "admin", time.Now())
	front := e.token(apitoken.RoleFrontend, "moodle")
	tokens := []struct {
		name   string
		header []string
		code   string
	}{
		{"no token", bearer(""), "unauthorized"},
		{"basic auth", []string{"Authorization", "Basic YWRtaW46YWRtaW4="}, "unauthorized"},
		{"empty bearer", []string{"Authorization", "Bearer "}, "unauthorized"},
		{"unknown token", bearer("s3cret2"), "invalid_token"},
		{"token of another installation", bearer(foreign), "invalid_token"},
		{"frontend token made admin", bearer(escalated(t, front)), "invalid_token"},
		{"token cut short", bearer(front[:len(front)-1]), "invalid_token"},
	}
	routes := (&Server{}).routes()
	for _, rt := range routes {
		path := strings.ReplaceAll(rt.pattern, "{id}", "some-job")
		for _, tc := range tokens {
			t.Run(rt.method+" "+rt.pattern+"/"+tc.name, func(t *testing.T) {
				status, data := e.call(rt.method, path, "", nil, tc.header...)
				if rt.open {
					if status == 401 {
						t.Errorf("open route answered 401: %s", data)
					}
					return
				}
				if status != 401 || errorCode(t, data) != tc.code {
					t.Errorf("%d %s, want 401 %s", status, data, tc.code)
				}
			})
		}
	}
	if open := 2; len(routes)-open < 10 {
		t.Errorf("only %d routes: is the table complete?", len(routes))
	}
}

// TestFrontendsSeeOnlyTheirJobs: a frontend token sees and kills the jobs
// submitted with a token of its name, and gets the 404 of an unknown job
// for anybody else's (another frontend's, an admin's, the CLI's); an admin
// token sees and kills them all.
func TestFrontendsSeeOnlyTheirJobs(t *testing.T) {
	e := newEnv(t, Options{})
	e.waitReady()
	alpha, alpha2 := bearer(e.token(apitoken.RoleFrontend, "alpha")), bearer(e.token(apitoken.RoleFrontend, "alpha"))
	beta := bearer(e.token(apitoken.RoleFrontend, "beta"))
	admin := bearer(testToken)
	hang := func(id string, who []string) {
		t.Helper()
		status, data := e.postJSON("/api/v1/jobs", e.job(map[string]any{"job_id": id,
			"inputs": map[string]any{"@fake": map[string]any{"hang": true}}}), who...)
		if status != 202 {
			t.Fatalf("submit %s: %d %s", id, status, data)
		}
	}
	hang("alpha-1", alpha)
	hang("admin-1", admin)
	e.hangElsewhere("cli", "cli-1")
	testutil.Eventually(t, wait, func() bool {
		status, data := e.call("GET", "/api/v1/jobs/cli-1", "", nil, admin...)
		return status == 200 && decode(t, data)["status"] != ""
	}, "the admin never saw cli-1")

	for _, tc := range []struct {
		name, method, path string
		who                []string
		want               int
	}{
		{"beta reads alpha's job", "GET", "/api/v1/jobs/alpha-1", beta, 404},
		{"beta follows alpha's job", "GET", "/api/v1/jobs/alpha-1/events", beta, 404},
		{"beta kills alpha's job", "DELETE", "/api/v1/jobs/alpha-1", beta, 404},
		{"alpha reads the admin's job", "GET", "/api/v1/jobs/admin-1", alpha, 404},
		{"alpha kills the admin's job", "DELETE", "/api/v1/jobs/admin-1", alpha, 404},
		{"alpha reads a CLI job", "GET", "/api/v1/jobs/cli-1", alpha, 404},
		{"alpha follows a CLI job", "GET", "/api/v1/jobs/cli-1/events", alpha, 404},
		{"alpha kills a CLI job", "DELETE", "/api/v1/jobs/cli-1", alpha, 404},
		{"alpha reads its job", "GET", "/api/v1/jobs/alpha-1", alpha, 200},
		{"alpha's other token reads it", "GET", "/api/v1/jobs/alpha-1", alpha2, 200},
		{"the admin reads alpha's job", "GET", "/api/v1/jobs/alpha-1", admin, 200},
		{"the admin reads the CLI job", "GET", "/api/v1/jobs/cli-1", admin, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, data := e.call(tc.method, tc.path, "", nil, tc.who...)
			if status != tc.want {
				t.Fatalf("%d %s, want %d", status, data, tc.want)
			}
			if tc.want == 404 {
				// The same answer as for a job that never existed.
				id := strings.Split(tc.path, "/")[4]
				if want, _ := json.Marshal(unknownJob(id).message); !strings.Contains(string(data), string(want)) {
					t.Errorf("404 body %s, want the unknown job's message %s", data, want)
				}
			}
		})
	}

	// The queue: a frontend's lists hold its own jobs; counts are global.
	_, data := e.call("GET", "/api/v1/queue", "", nil, beta...)
	if q := decode(t, data); len(q["running"].([]any))+len(q["waiting"].([]any)) != 0 || q["running_count"].(float64)+q["waiting_count"].(float64) != 3 {
		t.Errorf("beta's queue: %s", data)
	}
	_, data = e.call("GET", "/api/v1/queue", "", nil, alpha...)
	q := decode(t, data)
	if jobs := append(q["running"].([]any), q["waiting"].([]any)...); len(jobs) != 1 || get(jobs[0], "job_id") != "alpha-1" {
		t.Errorf("alpha's queue: %s", data)
	}
	if ev := e.firstEventWith("/api/v1/queue/events", beta...); strings.Contains(ev.data, "alpha-1") || strings.Contains(ev.data, "cli-1") {
		t.Errorf("beta's queue stream shows others' jobs: %s", ev.data)
	}
	_, data = e.call("GET", "/api/v1/queue", "", nil, admin...)
	if q := decode(t, data); len(q["running"].([]any))+len(q["waiting"].([]any)) != 3 {
		t.Errorf("the admin's queue: %s", data)
	}
	// Pages of one job: every job once, then no next_cursor; alpha's pages
	// hold alpha's job only.
	for _, tc := range []struct {
		who  []string
		want int
	}{{admin, 3}, {alpha, 1}} {
		seen, path := 0, "/api/v1/queue?limit=1"
		for range 10 {
			status, data := e.call("GET", path, "", nil, tc.who...)
			if status != 200 {
				t.Fatalf("%s: %d %s", path, status, data)
			}
			q := decode(t, data)
			seen += len(q["running"].([]any)) + len(q["waiting"].([]any))
			next, _ := q["next_cursor"].(string)
			if next == "" {
				break
			}
			path = "/api/v1/queue?limit=1&cursor=" + next
		}
		if seen != tc.want {
			t.Errorf("pages listed %d jobs, want %d", seen, tc.want)
		}
	}
	for _, bad := range []string{"?limit=0", "?limit=1001", "?cursor=zz!", "?environment=/x"} {
		if status, data := e.call("GET", "/api/v1/queue"+bad, "", nil, admin...); status != 400 {
			t.Errorf("%s: %d %s, want 400", bad, status, data)
		}
	}

	// Kills: nobody's 404 killed anything; the owner and the admin can.
	if status, data := e.call("DELETE", "/api/v1/jobs/alpha-1", "", nil, alpha2...); status != 202 {
		t.Fatalf("alpha kills its job: %d %s", status, data)
	}
	for _, id := range []string{"admin-1", "cli-1"} {
		if status, data := e.call("DELETE", "/api/v1/jobs/"+id, "", nil, admin...); status != 202 {
			t.Errorf("the admin kills %s: %d %s", id, status, data)
		}
	}
	evs := e.eventsWith("/api/v1/jobs/alpha-1/events", alpha...)
	if last := evs[len(evs)-1]; last.name != "done" || !strings.Contains(last.data, `"killed"`) {
		t.Errorf("alpha-1 ended with %v", last)
	}
}

// TestCrossOriginWrites: a browser page of another origin cannot write,
// with or without a token; the API's own page and non-browser clients can.
func TestCrossOriginWrites(t *testing.T) {
	e := newEnv(t, Options{})
	e.waitReady()
	job := func() *strings.Reader {
		return strings.NewReader(`{"inputs": {"q": "x"}, "task_bundle": "` + e.task + `"}`)
	}
	for _, tc := range []struct {
		name, method, path string
		header             []string
		want               int
	}{
		{"a form post from another site", "POST", "/api/v1/jobs", []string{"Authorization", "", "Origin", "https://evil.example"}, 403},
		{"with a token, from another origin", "POST", "/api/v1/jobs", []string{"Origin", "https://evil.example"}, 403},
		{"Sec-Fetch-Site cross-site", "POST", "/api/v1/jobs", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"Sec-Fetch-Site same-site", "POST", "/api/v1/jobs", []string{"Sec-Fetch-Site", "same-site"}, 403},
		{"a kill from another origin", "DELETE", "/api/v1/jobs/some-job", []string{"Origin", "http://127.0.0.1:1"}, 403},
		{"a task from another origin", "POST", "/api/v1/tasks", []string{"Origin", "https://evil.example"}, 403},
		{"the API's own page", "POST", "/api/v1/jobs", []string{"Origin", e.url, "Sec-Fetch-Site", "same-origin"}, 202},
		{"a program (no browser headers)", "POST", "/api/v1/jobs", nil, 202},
		{"a read from another origin", "GET", "/api/v1/queue", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body *strings.Reader
			if tc.method == "POST" {
				body = job()
			} else {
				body = strings.NewReader("")
			}
			status, data := e.call(tc.method, tc.path, "application/json", body, tc.header...)
			if status != tc.want || (tc.want == 403 && errorCode(t, data) != "cross_origin") {
				t.Errorf("%d %s, want %d", status, data, tc.want)
			}
		})
	}
}

// TestFrontendPolicy: a frontend token may not ask for network or for
// limits above the operator's policy (here the agents' defaults), in the
// request or in task.yaml; the refusal names the limit and its maximum.
// An admin token may.
func TestFrontendPolicy(t *testing.T) {
	e := newEnv(t, Options{})
	e.waitReady()
	front := bearer(e.token(apitoken.RoleFrontend, "moodle"))
	limits := func(l map[string]any) map[string]any { return map[string]any{"limits": l} }
	taskYAML := func(yaml string) func() (string, []byte) {
		return func() (string, []byte) {
			return multipartBody(t, [3]string{"job", "", `{}`},
				[3]string{"task", "t.tgz", string(tarGz(t, map[string]string{"task.yaml": yaml, "run": "#!/bin/sh\n"}, nil))})
		}
	}
	for _, tc := range []struct {
		name  string
		json  map[string]any
		body  func() (string, []byte)
		who   []string
		want  int
		words []string
	}{
		{"network", map[string]any{"network_grading": true}, nil, front, 403, []string{"network_grading", "api.frontend-network"}},
		{"cpu time", limits(map[string]any{"time": 31}), nil, front, 403, []string{"limits.time is 31 s", "at most 30 s"}},
		{"wall time", limits(map[string]any{"hard_time": 91}), nil, front, 403, []string{"limits.hard_time is 91 s", "at most 90 s"}},
		{"memory", limits(map[string]any{"memory": 257}), nil, front, 403, []string{"limits.memory is 257 MiB", "at most 256 MiB"}},
		{"processes", limits(map[string]any{"processes": 513}), nil, front, 403, []string{"limits.processes is 513", "at most 512"}},
		{"output", limits(map[string]any{"output": 2 << 20}), nil, front, 403, []string{"limits.output is 2097152 bytes", "at most 1048576 bytes"}},
		{"disk", limits(map[string]any{"disk": 1024}), nil, front, 403, []string{"limits.disk is 1024 MiB", "at most 256 MiB"}},
		{"task.yaml asks for more", nil, taskYAML("limits:\n  time: 60\n"), front, 403, []string{"limits.time is 60 s"}},
		{"task.yaml asks for network", nil, taskYAML("network_grading: true\n"), front, 403, []string{"network_grading"}},
		{"within the policy", limits(map[string]any{"time": 30, "hard_time": 90, "memory": 256, "processes": 512, "output": 1 << 20, "disk": 256}), nil, front, 202, nil},
		{"the defaults", map[string]any{}, nil, front, 202, nil},
		{"an admin asks for more", map[string]any{"network_grading": true, "limits": map[string]any{"time": 120, "memory": 1024}}, nil, nil, 202, nil},
		{"an admin's task.yaml", nil, taskYAML("limits:\n  time: 60\nnetwork_grading: true\n"), nil, 202, nil},
		// Priority comes before the fair share: a more urgent one than the
		// normal (0) would starve every other course.
		{"a more urgent priority", map[string]any{"priority": -1}, nil, front, 403, []string{"priority -1", "at most as urgent as 0", "api.frontend-min-priority"}},
		{"a replay's priority", map[string]any{"priority": 1}, nil, front, 202, nil},
		{"an admin's urgent priority", map[string]any{"priority": -100}, nil, nil, 202, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var status int
			var data []byte
			if tc.body != nil {
				ct, b := tc.body()
				status, data = e.call("POST", "/api/v1/jobs", ct, strings.NewReader(string(b)), tc.who...)
			} else {
				status, data = e.postJSON("/api/v1/jobs", e.job(tc.json), tc.who...)
			}
			if status != tc.want {
				t.Fatalf("%d %s, want %d", status, data, tc.want)
			}
			for _, w := range tc.words {
				if !strings.Contains(string(data), w) {
					t.Errorf("%s does not say %q", data, w)
				}
			}
		})
	}

	// An operator who allows more.
	e2 := newEnv(t, Options{Frontend: FrontendPolicy{Network: true, Max: messages.Limits{Time: 120, Memory: 1024}, MinPriority: -2}})
	front2 := bearer(e2.token(apitoken.RoleFrontend, "moodle"))
	if status, data := e2.postJSON("/api/v1/jobs", e2.job(map[string]any{"priority": -2}), front2...); status != 202 {
		t.Errorf("a priority the policy allows: %d %s", status, data)
	}
	if status, data := e2.postJSON("/api/v1/jobs", e2.job(map[string]any{"priority": -3}), front2...); status != 403 || !strings.Contains(string(data), "at most as urgent as -2") {
		t.Errorf("a priority beyond a wider policy: %d %s", status, data)
	}
	if status, data := e2.postJSON("/api/v1/jobs", e2.job(map[string]any{"network_grading": true, "limits": map[string]any{"time": 120, "hard_time": 360, "memory": 1024}}), front2...); status != 202 {
		t.Errorf("within a wider policy: %d %s", status, data)
	}
	if status, data := e2.postJSON("/api/v1/jobs", e2.job(limits(map[string]any{"disk": 1})), front2...); status != 403 {
		t.Errorf("a limit the policy leaves at zero: %d %s", status, data)
	}
}
