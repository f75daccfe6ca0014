package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestAPI_AnyAdminCreds: `ingo api --creds FILE` runs with any admin
// credentials, as every other admin command does. The name "api" is only
// the one it signs for itself where the installation's keys are; an API on
// another host given the admin.creds of `ingo backend --embedded-nats`
// (name "admin") or a teacher's (name "alice") was refused, with a message
// asking to "drop the setting" that nobody had set.
func TestAPI_AnyAdminCreds(t *testing.T) {
	client := startSystem(t, "--runtime", "noop")
	for _, name := range []string{"admin", "alice"} {
		t.Run(name, func(t *testing.T) {
			code, creds, errOut := client("creds", "--role", "admin", "--name", name)
			if code != exitOK {
				t.Fatalf("creds: exit %d: %s", code, errOut)
			}
			file := filepath.Join(t.TempDir(), name+".creds")
			if err := os.WriteFile(file, []byte(creds), 0o600); err != nil {
				t.Fatal(err)
			}
			addr := freeAddr(t)
			type exit struct {
				code   int
				stderr string
			}
			done := make(chan exit, 1)
			go func() {
				// With --creds, the API signs nothing itself: it has only
				// the file. It runs until the system stops.
				c, _, e := client("api", "--creds", file, "--http-addr", addr, "--data-dir", t.TempDir())
				done <- exit{c, e}
			}()
			ready := false
			deadline := time.Now().Add(20 * time.Second)
			for !ready && time.Now().Before(deadline) {
				select {
				case e := <-done:
					t.Fatalf("ingo api exited %d before serving: %s", e.code, e.stderr)
				case <-time.After(100 * time.Millisecond):
				}
				resp, err := http.Get("http://" + addr + "/readyz")
				if err == nil {
					ready = resp.StatusCode == http.StatusOK
					resp.Body.Close()
				}
			}
			if !ready {
				t.Fatal("ingo api never became ready")
			}
		})
	}
}
