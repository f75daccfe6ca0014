package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/internal/config"
)

// TestToken_RoundTrip: a token `ingo token` prints is accepted by the API
// of `ingo up` on the same data directory, whichever came first; a
// tampered one, one of another data directory and none are refused. ingo
// up writes its admin token 0600 and logs the path, never a token.
func TestToken_RoundTrip(t *testing.T) {
	isolate(t)
	dir := config.DefaultDataDir()
	ctx, cancel := context.WithCancel(t.Context())

	token := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCmd(ctx, append([]string{"token"}, args...)...)
		if code != exitOK {
			t.Fatalf("token %v: exit %d: %s", args, code, errOut)
		}
		return strings.TrimSpace(out)
	}
	front := token("--role", "frontend", "--name", "course-algo", "--data-dir", dir)
	foreign := token("--role", "admin", "--name", "me", "--data-dir", t.TempDir())
	for _, args := range [][]string{{"--role", "root", "--name", "x"}, {"--role", "frontend"}, {"--role", "admin", "--name", "a b"}} {
		if code, _, _ := runCmd(ctx, append([]string{"token"}, args...)...); code != exitUsage {
			t.Errorf("token %v: exit %d, want %d", args, code, exitUsage)
		}
	}

	httpAddr := freeAddr(t)
	log := runUp(t, ctx, cancel, dir, httpAddr)
	base := "http://" + httpAddr

	path := filepath.Join(dir, apitoken.TokenFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(string(data))
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	// tampered changes one character of the payload (gateway/http's
	// tests change the role itself).
	tampered := func(tok string) string {
		b := []byte(tok)
		b[len("ingo_")+5] ^= 'A' ^ 'B'
		return string(b)
	}
	status := func(tok string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/queue", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"ingo token's frontend token", front, 200},
		{"ingo up's admin token", admin, 200},
		{"the frontend token altered", tampered(front), 401},
		{"a token of another data directory", foreign, 401},
		{"no token", "", 401},
	} {
		if got := status(tc.token); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	if l := log.String(); !strings.Contains(l, path) || strings.Contains(l, admin) {
		t.Errorf("the log should name %s and hold no token:\n%s", path, l)
	}
	if !strings.Contains(log.String(), "Authorization: Bearer $(cat "+path+")") {
		t.Errorf("the banner does not show how to send the token:\n%s", log.String())
	}
}

// TestFrontendPolicy: frontends get the agents' default limits and no
// network, and api.frontend-max-limits raises what it sets.
func TestFrontendPolicy(t *testing.T) {
	t.Parallel()
	d := schema.Defaults()
	p := frontendPolicy(d)
	if p.Network || p.Max != d.Agent.DefaultLimits {
		t.Errorf("frontend policy %+v, want the agents' default limits %+v and no network", p, d.Agent.DefaultLimits)
	}
	d.API.Frontend.Max.Time = 120
	if p := frontendPolicy(d); p.Max.Time != 120 || p.Max.Memory != d.Agent.DefaultLimits.Memory {
		t.Errorf("with frontend-max-limits.time 120: %+v", p.Max)
	}
	// Before, api.frontend-min-priority never reached the API: frontend
	// tokens could ask for priority 0 whatever the operator set.
	d.API.Frontend.MinPriority = 1
	if p := frontendPolicy(d); p.MinPriority != 1 {
		t.Errorf("with frontend-min-priority 1: the policy's is %d", p.MinPriority)
	}
}
