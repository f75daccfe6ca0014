package security

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/natsauth"
)

// suite is what the attacks share: the installation under attack (a),
// the second one of attack 12 (b), and the legitimate users.
type suite struct {
	tmp  string // outlives every subtest: logs and data of both installations
	root string // task folders
	a, b *installation

	admin *frontendclient.Client // an admin of a, who watches the queue
	alice *frontendclient.Client // a frontend of a, the victim

	mu      sync.Mutex
	secrets []secret
	tasks   map[int]string // sleeperTask's folders by seconds
}

// TestSecurity runs the attacks of issue 13 against one `ingo up`, the
// real binary with the Docker runtime, in order; each subtest fails when
// its attack succeeds, and reports one line per attack.
func TestSecurity(t *testing.T) {
	s := &suite{tmp: t.TempDir(), tasks: map[int]string{}}
	s.root = filepath.Join(s.tmp, "tasks")
	bridgeTasks := filepath.Join(s.tmp, "inginious")
	copyDir(t, filepath.Join(repoRoot(), "examples", "hello"), filepath.Join(bridgeTasks, "demo", "hello"))

	s.a = startUp(t, s.tmp, "a", upOptions{bridgeTasks: bridgeTasks, ssh: true})
	s.admin = s.a.client(t, natsauth.RoleAdmin, "security-admin")
	s.alice = s.a.client(t, natsauth.RoleFrontend, "alice")

	for _, a := range []struct {
		name string
		run  func(*testing.T, *suite)
	}{
		{"01-connect", attackConnect},
		{"02-subscribe", attackSubscribe},
		{"03-bundle", attackBundle},
		{"04-forge-result", attackForgeResult},
		{"05-pose-as-agent", attackPoseAsAgent},
		{"06-kill", attackKill},
		{"07-leader-kv", attackLeaderKV},
		{"08-bridge", attackBridge},
		{"09-memory", attackMemory},
		{"10-http", attackHTTP},
		{"11-ssh", attackSSH},
		{"12-two-installations", attackTwoInstallations},
		{"13-secrets", attackSecrets},
	} {
		t.Run(a.name, func(t *testing.T) {
			before := reported.Load()
			defer func() {
				// A failure outside any attack (starting a job, say)
				// still leaves a line in the report.
				if t.Failed() && reported.Load() == before {
					report(t, "FAILED "+a.name+": the attack could not be set up (see the test log)")
				}
			}()
			a.run(t, s)
		})
	}
}

// sleeperTask is a task folder whose grader sleeps n seconds, then
// grades 42 with realText; one per n.
func (s *suite) sleeperTask(t *testing.T, n int) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if dir, ok := s.tasks[n]; ok {
		return dir
	}
	dir := task(t, s.root, "security", fmt.Sprintf("sleep-%d", n), "time: 30\nmemory: 100", sleeper(n), nil)
	s.tasks[n] = dir
	return dir
}

// repoRoot is the module's root, from this file's place in it.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// copyDir copies the regular files of src (one level of folders deep is
// all examples/hello needs, but any depth works) to dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}
