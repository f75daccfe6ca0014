// Package deploydoc runs the commands of docs/deployment.md as an operator
// copies them, so that a step that fails there fails here first.
package deploydoc

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestDeploymentDoc_OneMachine runs every shell block of the section "One
// machine" of docs/deployment.md (agents and a web host joining the
// backend included), line by line, with only names, ports and paths
// replaced: the example hosts by loopback, /var/lib by a temporary folder.
// Servers (ingo backend, agent, api, inginious-bridge) run in the
// background until they say they are ready; a backend stops what ran
// before it, as the docs' successive setups replace each other. Every
// other command must succeed. Then a job is graded through the last setup.
//
// Before, the section made agent credentials before any keys existed
// ("no keys in /var/lib/ingo"), and started `ingo agent` beside a backend
// of another data directory without credentials, which it refused.
func TestDeploymentDoc_OneMachine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real ingo processes")
	}
	ingo := testutil.IngoBinary(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "deployment.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "\n## One machine\n")
	section, _, _ = strings.Cut(section, "\n## ")

	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	work := filepath.Join(tmp, "work")
	for _, d := range []string{bin, work, filepath.Join(tmp, "home"), filepath.Join(tmp, "var", "lib"), filepath.Join(tmp, "tasks")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(ingo, filepath.Join(bin, "ingo")); err != nil {
		t.Fatal(err)
	}
	natsPort := testutil.FreePort(t)
	httpPort := testutil.FreePort(t)
	bridgePort := testutil.FreePort(t)
	replace := strings.NewReplacer(
		"bin/ingo ", "ingo ",
		"/var/lib/", filepath.Join(tmp, "var", "lib")+"/",
		"/var/www/inginious/tasks", filepath.Join(tmp, "tasks"),
		"grading.example.org", "127.0.0.1",
		"web.example.org", "127.0.0.1",
		"0.0.0.0:4222", fmt.Sprintf("127.0.0.1:%d", natsPort),
		"127.0.0.1:4222", fmt.Sprintf("127.0.0.1:%d", natsPort),
		":4222", fmt.Sprintf(":%d", natsPort),
		"0.0.0.0:8443", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"127.0.0.1:2001", fmt.Sprintf("127.0.0.1:%d", bridgePort),
	)
	env := append(unsetIngoEnv(),
		"PATH="+bin+":"+os.Getenv("PATH"),
		"HOME="+filepath.Join(tmp, "home"),
		"XDG_DATA_HOME=", "XDG_CACHE_HOME=", "INGO_CONFIG=",
		// What the docs leave to their defaults, made hermetic: the
		// default NATS address, no Docker, no SSH ports.
		fmt.Sprintf("INGO_NATS_URL=nats://127.0.0.1:%d", natsPort),
		"INGO_AGENT_RUNTIME=noop",
		"INGO_AGENT_SSH_PORT_MIN=0", "INGO_AGENT_SSH_PORT_MAX=0",
	)
	ready := map[string]string{
		"backend":          "backend serving",
		"agent":            "registered with the backend",
		"api":              "HTTP API and dashboard ready",
		"inginious-bridge": "INGInious bridge listening",
	}
	var running []*testutil.Process
	commands := shellCommands(section)
	if len(commands) < 5 {
		t.Fatalf("found %d commands in the section, expected more:\n%s", len(commands), strings.Join(commands, "\n"))
	}
	for _, line := range commands {
		if strings.HasPrefix(line, "go build") {
			continue // the binary is built already; make images needs root
		}
		line = replace.Replace(line)
		// "copy ... tls-ca.pem to the agent's host": the hosts share the
		// working folder, the copies come from the data directory.
		for _, m := range regexp.MustCompile(`[=\s]([\w.-]+\.(?:pem|key))\b`).FindAllStringSubmatch(line, -1) {
			if _, err := os.Stat(filepath.Join(work, m[1])); err == nil {
				continue
			}
			if b, err := os.ReadFile(filepath.Join(tmp, "var", "lib", "ingo", m[1])); err == nil {
				if err := os.WriteFile(filepath.Join(work, m[1]), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
		server := ""
		if m := regexp.MustCompile(`^ingo (backend|agent|api|inginious-bridge)\b`).FindStringSubmatch(line); m != nil {
			server = m[1]
		}
		if server == "" {
			cmd := exec.CommandContext(commandContext(t), "bash", "-c", line)
			cmd.Dir, cmd.Env = work, append(os.Environ(), env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s\n%v\n%s", line, err, out)
			}
			continue
		}
		if server == "backend" {
			for _, p := range running {
				_ = p.Stop(20 * time.Second)
			}
			running = nil
		}
		p := testutil.StartProcess(t, server, "bash", env, "-c", "cd "+work+" && exec "+line)
		running = append(running, p)
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(p.Output(), ready[server]) {
			if p.Exited() || time.Now().After(deadline) {
				t.Fatalf("%s: not ready (%q):\n%s", line, ready[server], p.Output())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Secrets written by the docs' commands are the operator's alone.
	for _, dir := range []string{work, filepath.Join(tmp, "var", "lib", "ingo")} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			if !strings.HasSuffix(f, ".creds") && !strings.HasSuffix(f, ".token") && !strings.HasSuffix(f, ".key") {
				continue
			}
			if st, err := os.Stat(f); err != nil || st.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s: mode %v, readable by others (%v)", f, st.Mode().Perm(), err)
			}
		}
	}
	// The last setup grades: the backend with TLS, the agent of another
	// host, the API of the web host.
	data := filepath.Join(tmp, "var", "lib", "ingo")
	cmd := exec.CommandContext(commandContext(t), ingo, "submit", filepath.Join(root, "examples", "hello"), "-i", "name=Ada", "--wait",
		"--creds", filepath.Join(data, "admin.creds"), "--set", "nats.tls-ca="+filepath.Join(data, "tls-ca.pem"))
	cmd.Dir, cmd.Env = work, append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "success") {
		t.Fatalf("ingo submit: %v\n%s", err, out)
	}
	// The web host's API, over HTTPS with the installation's CA and the
	// course's token.
	token, err := os.ReadFile(filepath.Join(work, "course-algo.token"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("the docs' web host checks use curl, which is not installed: %v", err)
	}
	curl := exec.CommandContext(commandContext(t), "curl", "-sf", "--cacert", filepath.Join(work, "tls-ca.pem"),
		"-H", "Authorization: Bearer "+strings.TrimSpace(string(token)),
		fmt.Sprintf("https://127.0.0.1:%d/api/v1/queue", httpPort))
	if out, err := curl.CombinedOutput(); err != nil || !strings.Contains(string(out), `"agents"`) {
		t.Fatalf("GET /api/v1/queue with the frontend token: %v\n%s", err, out)
	}
}

// commandContext bounds a command of the docs: one that hangs fails the
// test in minutes, not at go test's timeout.
func commandContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// unsetIngoEnv unsets this process's INGO_* variables (an empty one counts
// as unset): ingo reads its settings from them, and a CI's would change
// what the docs' commands do.
func unsetIngoEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "INGO_") {
			env = append(env, k+"=")
		}
	}
	return env
}

// shellCommands are the commands of the sh blocks of markdown: comments
// dropped, continued lines joined.
func shellCommands(md string) []string {
	var cmds []string
	in, cur := false, ""
	sc := bufio.NewScanner(strings.NewReader(md))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
			continue
		case strings.HasPrefix(line, "```"):
			in = false
			continue
		case !in:
			continue
		}
		if i := strings.Index(line, " #"); i >= 0 && !strings.Contains(line[:i], "'") {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		if rest, ok := strings.CutSuffix(line, "\\"); ok {
			cur += rest
			continue
		}
		cmds = append(cmds, cur+line)
		cur = ""
	}
	return cmds
}
