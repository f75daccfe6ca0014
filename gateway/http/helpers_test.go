package api

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/agent"
	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/internal/taskfile"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
	"github.com/ingo-grader/ingo/tests/testrig"
)

const wait = 10 * time.Second

// testToken is the explicit admin token (api.admin-token) of every env.
const testToken = "s3cret"

// testPolicy is what `ingo api` gives frontends by default: the agents'
// default limits, no network.
var testPolicy = FrontendPolicy{Max: messages.Limits{Time: 30, Memory: 256, Processes: 512, Output: 1 << 20, Disk: 256}}

// env is a whole ingo in the test process: embedded NATS, a backend, an
// agent with the fake runtime (and a bundle cache), and the API served by
// httptest. Requests carry the admin token unless they say otherwise.
type env struct {
	t   *testing.T
	srv *Server
	url string
	doc *openAPIDoc
	key []byte // signs the tokens of token()
	// connect opens another connection to the test's NATS.
	connect func(name string) *nats.Conn
	// sys is the backend and agent the API talks to.
	sys *testrig.System
	// task is the digest of a task bundle with a run file, uploaded once:
	// the API refuses a job without a task, and the fake runtime plays
	// the "@fake" input whatever the task holds.
	task string
}

// job is a JSON job of fields with the env's task bundle, unless fields
// name a task_bundle of their own.
func (e *env) job(fields map[string]any) map[string]any {
	out := map[string]any{"task_bundle": e.task}
	for k, v := range fields {
		out[k] = v
	}
	return out
}

// hangElsewhere submits a job that hangs from another frontendclient
// (clientID), as the CLI or another frontend library would: not through
// the API. The client closes with the test.
func (e *env) hangElsewhere(clientID, jobID string) {
	e.t.Helper()
	cl, err := frontendclient.New(context.Background(), e.connect(clientID), frontendclient.Options{ClientID: clientID})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cl.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := cl.NewJob(ctx, frontendclient.JobRequest{ClientNewJob: messages.ClientNewJob{JobDescription: messages.JobDescription{
		JobID: jobID, EnvironmentType: "docker", Environment: "default",
		InputData: map[string]any{"@fake": map[string]any{"hang": true}}}}}); err != nil {
		e.t.Fatal(err)
	}
}

// token makes a token of role and name for the env's API. A frontend's
// name owns the env's task, as if it had stored it (POST /api/v1/tasks).
func (e *env) token(role apitoken.Role, name string) string {
	e.t.Helper()
	tok, err := apitoken.Issue(e.key, role, name, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if role == apitoken.RoleFrontend {
		e.srv.tasks.add(principal{role: role, name: name}.owner(), e.task)
		spec, err := taskfile.Parse(nil) // the env's task has no task.yaml
		if err != nil {
			e.t.Fatal(err)
		}
		e.srv.specs.add(principal{role: role, name: name}.owner(), e.task, spec, specOverhead)
	}
	return tok
}

// bearer is the header pair of a token ("" sends no Authorization).
func bearer(tok string) []string {
	if tok == "" {
		return []string{"Authorization", ""}
	}
	return []string{"Authorization", "Bearer " + tok}
}

// setHeaders sets name, value pairs on req, the admin token first unless
// they give Authorization; an empty value removes the header.
func setHeaders(req *http.Request, header []string) {
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
}

func newEnv(t *testing.T, o Options) *env {
	t.Helper()
	return newEnvWith(t, o, false)
}

// newEnvWith is newEnv with a durable backend (journal and job history)
// when durable, and the backend's settings changed by tweaks.
func newEnvWith(t *testing.T, o Options, durable bool, tweaks ...func(*backend.Config)) *env {
	t.Helper()
	key, err := apitoken.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if o.AdminToken == "" {
		o.AdminToken = testToken
	}
	if o.TokenKey == nil {
		o.TokenKey = key
	}
	if o.Frontend == (FrontendPolicy{}) {
		o.Frontend = testPolicy
	}
	sys := testrig.Start(t, testrig.Options{
		Durable: durable,
		Backend: func(c *backend.Config) {
			c.HeartbeatInterval = 100 * time.Millisecond
			c.HeartbeatMisses = 20
			for _, tweak := range tweaks {
				tweak(c)
			}
		},
		Agents: []testrig.Agent{{Config: agent.Config{ID: "a1", Name: "agent one", Slots: 2, HeartbeatInterval: 50 * time.Millisecond}}},
	})
	connect := sys.Connect

	if o.PingInterval == 0 {
		o.PingInterval = 100 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = testutil.Logger(t).With("component", "api")
	}
	srv, err := New(context.Background(), connect("api"), o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		srv.Close()
	})
	e := &env{t: t, srv: srv, url: hs.URL, doc: loadOpenAPI(t), key: o.TokenKey, connect: connect, sys: sys}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "run"), []byte("#!/bin/sh\nfeedback-result success\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if e.task, err = srv.Client().UploadTask(ctx, dir); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, wait, func() bool {
		envs := srv.Client().Environments()
		return len(envs["docker"]) > 0
	}, "the agent's environment never reached the API")
	return e
}

// call sends a request and checks the answer against openapi.json: the
// status is documented for the route (or is the JSON 404/405 of the
// router) and the JSON body matches the documented schema.
func (e *env) call(method, path, contentType string, body io.Reader, header ...string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	setHeaders(req, header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.doc.checkResponse(method, path, resp.StatusCode, resp.Header.Get("Content-Type"), data); err != nil {
		e.t.Errorf("%s %s: answer does not match openapi.json: %v\nbody: %s", method, path, err, data)
	}
	if err := inert(resp.Header); err != nil {
		e.t.Errorf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, data
}

func (e *env) postJSON(path string, v any, header ...string) (int, []byte) {
	e.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.call("POST", path, "application/json", bytes.NewReader(b), header...)
}

// decode unmarshals a JSON answer into a generic map.
func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, data)
	}
	return m
}

// tarGz packs files (name -> content) into a .tar.gz; a name ending in
// "->target" becomes a symbolic link.
func tarGz(t testing.TB, files map[string]string, mutate func(*tar.Header)) []byte {
	t.Helper()
	var buf bytes.Buffer
	gw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gw)
	for name, content := range files {
		hdr := &tar.Header{Name: name, Mode: 0o755, Size: int64(len(content)), Typeflag: tar.TypeReg}
		if n, target, ok := strings.Cut(name, "->"); ok {
			hdr = &tar.Header{Name: n, Linkname: target, Typeflag: tar.TypeSymlink, Mode: 0o777}
			content = ""
		}
		if mutate != nil {
			mutate(hdr)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipOf(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gw := gzip.NewWriter(&buf)
	if _, err := gw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := gw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// inert says why a browser could act on an answer of the API, if it
// could: every answer holds what others wrote (feedback, names, the path
// asked for), on the origin where the dashboard keeps its token.
func inert(h http.Header) error {
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		return fmt.Errorf("X-Content-Type-Options %q, want nosniff", got)
	}
	if got := h.Get("Content-Security-Policy"); got != apiCSP {
		return fmt.Errorf("Content-Security-Policy %q, want %q", got, apiCSP)
	}
	return nil
}
