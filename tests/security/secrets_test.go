package security

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/internal/natsauth"
)

// secret is a value that must never reach a log.
type secret struct{ what, value string }

// addSecret remembers a secret the suite met on its way (a token it made,
// an SSH password), for attack 13.
func (s *suite) addSecret(what, value string) {
	if value == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets = append(s.secrets, secret{what, value})
}

// installationSecrets are the secrets of an installation's data
// directory: the seeds of nats-keys.json, the JWT and seed of
// admin.creds, the HTTP API's token key and admin token.
func (in *installation) secrets(t *testing.T) []secret {
	t.Helper()
	var out []secret
	data, err := os.ReadFile(filepath.Join(in.dataDir, natsauth.KeysFile))
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(data, &keys); err != nil {
		t.Fatal(err)
	}
	for k, v := range keys {
		if str, ok := v.(string); ok && strings.HasSuffix(k, "_seed") {
			out = append(out, secret{natsauth.KeysFile + " " + k, str})
		}
	}
	creds, err := natsauth.ReadCreds(in.adminCreds)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, secret{"the JWT of admin.creds", creds.JWT}, secret{"the seed of admin.creds", string(creds.Seed)})
	for _, f := range []string{apitoken.KeyFile, apitoken.TokenFile} {
		b, err := os.ReadFile(filepath.Join(in.dataDir, f))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, secret{f, strings.TrimSpace(string(b))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].what < out[j].what })
	return out
}

// leaks says where in log a secret shows: whole, or a 24-character piece
// of its middle (a truncated or wrapped print).
func leaks(log string, sec secret) bool {
	if strings.Contains(log, sec.value) {
		return true
	}
	if n := len(sec.value); n >= 40 {
		return strings.Contains(log, sec.value[n/2-12:n/2+12])
	}
	return false
}

// attackSecrets (13): nothing ingo up wrote, at debug level, holds a
// secret: neither installation's own, nor those the suite handed it.
func attackSecrets(t *testing.T, s *suite) {
	installations := []*installation{s.a}
	if s.b != nil {
		installations = append(installations, s.b)
	}
	var all []secret
	for _, in := range installations {
		// Stopped first: the log is whole, shutdown included.
		if err := in.stop(); err != nil {
			t.Errorf("stop ingo up %s: %v", in.name, err)
		}
		for _, sec := range in.secrets(t) {
			all = append(all, secret{"installation " + in.name + ": " + sec.what, sec.value})
		}
	}
	s.mu.Lock()
	all = append(all, s.secrets...)
	s.mu.Unlock()
	for _, in := range installations {
		attack(t, "log-"+in.name, fmt.Sprintf("every byte ingo up %s wrote (stdout and stderr, log level debug)", in.name), func(t *testing.T, r *record) {
			log, err := os.ReadFile(in.logFile)
			if err != nil {
				t.Fatal(err)
			}
			var found []string
			for _, sec := range all {
				if leaks(string(log), sec) {
					found = append(found, sec.what)
				}
			}
			if len(found) > 0 {
				r.add("%d bytes; FOUND %s", len(log), strings.Join(found, ", "))
				t.Errorf("secrets in the log of ingo up %s: %v", in.name, found)
				return
			}
			r.add("%d bytes, %d lines; none of %d secrets (%s)", len(log), strings.Count(string(log), "\n"), len(all), kinds(all))
		})
	}
}

// kinds names the secrets looked for, without their values.
func kinds(all []secret) string {
	seen := map[string]bool{}
	var names []string
	for _, sec := range all {
		w := sec.what
		if _, after, ok := strings.Cut(w, ": "); ok && strings.HasPrefix(w, "installation ") {
			w = after
		}
		if !seen[w] {
			seen[w] = true
			names = append(names, w)
		}
	}
	return strings.Join(names, ", ")
}
