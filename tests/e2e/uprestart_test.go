package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// upInstance is one `ingo up` process of TestUpRestartKeepsHistory: its
// own data directory, ports and home, the Docker runtime.
type upInstance struct {
	t                             *testing.T
	root, dataDir, nats, httpAddr string
	agentID, ingo                 string
	proc                          *testutil.Process
}

// Bounds for one ingo up of this test (the whole test stays under 2 min).
const (
	upReady  = 40 * time.Second // ready, docker/default offered
	upGraded = 40 * time.Second // a hello job graded
	upStop   = 20 * time.Second // SIGTERM to exit
)

func newUpInstance(t *testing.T) *upInstance {
	t.Helper()
	testutil.RequireImage(t, gradingImage)
	root := t.TempDir()
	u := &upInstance{t: t, root: root, dataDir: filepath.Join(root, "data"),
		nats:     fmt.Sprintf("nats://127.0.0.1:%d", testutil.FreePort(t)),
		httpAddr: fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)),
		// Its containers carry this id: the cleanup removes them, and no
		// other agent's.
		agentID: fmt.Sprintf("uprestart-%d", os.Getpid()),
		ingo:    testutil.IngoBinary(t),
	}
	t.Cleanup(func() {
		for _, cid := range containers(t, "io.ingo.agent="+u.agentID) {
			_ = exec.Command("docker", "rm", "-f", cid).Run()
		}
	})
	u.proc = testutil.StartProcess(t, "ingo up", u.ingo, u.env(), "up",
		"--data-dir", u.dataDir, "--http-addr", u.httpAddr, "--nats-url", u.nats, "--concurrency", "2",
		"--set", "agent.id="+u.agentID,
		"--set", "agent.cache-dir="+filepath.Join(root, "cache"),
		// No warm pool: every container this test makes is a job's, and
		// no SSH ports are taken from other tests.
		"--set", "agent.docker.pool.size=0",
		"--set", "agent.ssh.port-min=0", "--set", "agent.ssh.port-max=0")
	t.Cleanup(func() { _ = u.proc.Stop(upStop) })
	u.waitReady()
	return u
}

// env keeps ingo's processes (the CLI's default data dir included) out
// of the user's home.
func (u *upInstance) env() []string {
	return []string{"HOME=" + filepath.Join(u.root, "home"), "XDG_DATA_HOME=" + filepath.Join(u.root, "xdg"),
		"INGO_LOG_LEVEL=info"}
}

// waitReady waits for /readyz and for the agent to offer docker/default.
func (u *upInstance) waitReady() {
	u.t.Helper()
	deadline := time.Now().Add(upReady)
	for {
		if u.proc.Exited() {
			u.t.Fatalf("ingo up exited: %v", u.proc.Err())
		}
		if res, err := http.Get("http://" + u.httpAddr + "/readyz"); err == nil {
			res.Body.Close()
			var envs map[string][]string
			if out, _, err := u.cli("envs", "--json"); res.StatusCode == http.StatusOK && err == nil &&
				json.Unmarshal([]byte(out), &envs) == nil && slices.Contains(envs["docker"], "default") {
				return
			}
		}
		if time.Now().After(deadline) {
			u.t.Fatalf("ingo up: not ready with docker/default within %v", upReady)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cli runs the ingo binary as this installation's admin.
func (u *upInstance) cli(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), upGraded)
	defer cancel()
	cmd := exec.CommandContext(ctx, u.ingo, append(args,
		"--nats-url", u.nats, "--creds", filepath.Join(u.dataDir, natsauth.AdminCredsFile))...)
	cmd.Env = append(os.Environ(), u.env()...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// get is an admin's GET on the HTTP API.
func (u *upInstance) get(path string) (int, []byte) {
	u.t.Helper()
	token, err := os.ReadFile(filepath.Join(u.dataDir, "api-token"))
	if err != nil {
		u.t.Fatalf("ingo up's admin token: %v", err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+u.httpAddr+path, nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		u.t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, body
}

// restart stops ingo up gracefully (SIGTERM), checks it exited 0, and
// starts it again on the same data directory and ports.
func (u *upInstance) restart() {
	u.t.Helper()
	if err := u.proc.Stop(upStop); err != nil {
		u.t.Fatalf("ingo up after SIGTERM: %v", err)
	}
	u.proc.Restart()
	u.waitReady()
}

// historyRecord is what ingo result --json prints and what GET
// /api/v1/jobs/{id} carries under "record".
type historyRecord struct {
	JobID  string  `json:"job_id"`
	Status string  `json:"status"`
	Grade  float64 `json:"grade"`
	Result *struct {
		Status string `json:"status"`
		Usage  *struct {
			WallTime float64 `json:"wall_time"`
		} `json:"usage"`
	} `json:"result"`
}

// check says what is wrong with a record of job id that must be a graded
// hello job (success, 100, with its usage).
func (r historyRecord) check(id string) error {
	if r.JobID != id || r.Status != "success" || r.Grade != 100 || r.Result == nil ||
		r.Result.Status != "success" || r.Result.Usage == nil || r.Result.Usage.WallTime <= 0 {
		return fmt.Errorf("record %+v (result %+v), want job %s, success, grade 100 and its usage", r, r.Result, id)
	}
	return nil
}

// TestUpRestartKeepsHistory: jobs submitted with the CLI, one waited for
// and one not (its submitter gone at once, the result never acknowledged
// by it), are found after `ingo up` restarts on the same data directory:
// by ingo result, GET /api/v1/jobs/{id} (admin) and ingo jobs (issue 16).
func TestUpRestartKeepsHistory(t *testing.T) {
	u := newUpInstance(t)
	hello := filepath.Join("..", "..", "examples", "hello")

	out, errOut, err := u.cli("submit", hello, "-i", "name=Ada", "--wait", "--json")
	var waited struct {
		JobID  string `json:"job_id"`
		Status string `json:"status"`
	}
	if err != nil || json.Unmarshal([]byte(out), &waited) != nil || waited.Status != "success" {
		t.Fatalf("submit --wait: %v\nstdout %s\nstderr %s", err, out, errOut)
	}
	out, errOut, err = u.cli("submit", hello, "-i", "name=Bob", "--json")
	var queued struct {
		JobID string `json:"job_id"`
	}
	if err != nil || json.Unmarshal([]byte(out), &queued) != nil || queued.JobID == "" {
		t.Fatalf("submit without --wait: %v\nstdout %s\nstderr %s", err, out, errOut)
	}
	// Graded before the restart: the record must survive it, not the
	// job be run again.
	if out, errOut, err := u.cli("result", queued.JobID, "--wait", "--json"); err != nil {
		t.Fatalf("result %s --wait before the restart: %v\nstdout %s\nstderr %s", queued.JobID, err, out, errOut)
	}

	u.restart()

	for _, id := range []string{waited.JobID, queued.JobID} {
		out, errOut, err := u.cli("result", id, "--json")
		var rec historyRecord
		if err == nil {
			err = json.Unmarshal([]byte(out), &rec)
		}
		if err == nil {
			err = rec.check(id)
		}
		if err != nil {
			t.Errorf("ingo result %s --json after the restart: %v\nstdout %s\nstderr %s", id, err, out, errOut)
		}

		code, body := u.get("/api/v1/jobs/" + id)
		var view struct {
			Status string        `json:"status"`
			Record historyRecord `json:"record"`
		}
		if err := json.Unmarshal(body, &view); code != http.StatusOK || err != nil || view.Status != "done" {
			t.Errorf("GET /api/v1/jobs/%s after the restart: %d %v: %s", id, code, err, body)
		} else if err := view.Record.check(id); err != nil {
			t.Errorf("GET /api/v1/jobs/%s after the restart: %v", id, err)
		}
	}

	out, errOut, err = u.cli("jobs", "--json")
	var list []historyRecord
	if err == nil {
		err = json.Unmarshal([]byte(out), &list)
	}
	if err != nil || len(list) != 2 {
		t.Fatalf("ingo jobs --json after the restart: %v, want the 2 jobs\nstdout %s\nstderr %s", err, out, errOut)
	}
	// Newest first; a listing's rows carry no result (null).
	for i, id := range []string{queued.JobID, waited.JobID} {
		if r := list[i]; r.JobID != id || r.Status != "success" || r.Grade != 100 {
			t.Errorf("ingo jobs --json, row %d: %+v, want job %s, success, grade 100", i, r, id)
		}
	}
}
