package fake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

func newJob(id string, fake map[string]any) *containers.Job {
	input := map[string]any{"q1": "answer"}
	if fake != nil {
		input["@fake"] = fake
	}
	return &containers.Job{
		AgentID: "agent1", Attempt: 1,
		Desc: &messages.JobDescription{
			JobID: id, EnvironmentType: "docker", Environment: "default", InputData: input,
		},
		Limits: messages.Limits{Time: 1, HardTime: 3, Memory: 64, Processes: 10, Output: 100, Disk: 10},
	}
}

func TestRuntime_Run_Behaviours(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fake       map[string]any
		wantStatus messages.Status
		wantGrade  float64
		wantText   string
		wantErr    func(error) bool
	}{
		{name: "default success", wantStatus: messages.StatusSuccess, wantGrade: 100, wantText: "fake: success"},
		{name: "failed with grade", fake: map[string]any{"result": "failed", "grade": int64(40), "text": "nope"},
			wantStatus: messages.StatusFailed, wantGrade: 40, wantText: "nope"},
		{name: "float grade", fake: map[string]any{"grade": 12.5}, wantStatus: messages.StatusSuccess, wantGrade: 12.5, wantText: "fake: success"},
		{name: "oom", fake: map[string]any{"oom": true}, wantStatus: messages.StatusOverflow, wantText: "fake: overflow"},
		{name: "timeout", fake: map[string]any{"timeout": true}, wantStatus: messages.StatusTimeout, wantText: "fake: timeout"},
		{name: "short sleep", fake: map[string]any{"sleep": "1ms"}, wantStatus: messages.StatusSuccess, wantGrade: 100, wantText: "fake: success"},
		{name: "sleep past hard time", fake: map[string]any{"sleep": "1h"}, wantStatus: messages.StatusTimeout, wantText: "fake: timeout"},
		{name: "crash", fake: map[string]any{"crash": "boom"}, wantErr: func(err error) bool {
			var f *containers.Failure
			return err != nil && !errors.As(err, &f)
		}},
		{name: "failure", fake: map[string]any{"failure": "no image"}, wantErr: func(err error) bool {
			var f *containers.Failure
			return errors.As(err, &f) && f.Public == "no image"
		}},
		{name: "bad key", fake: map[string]any{"nope": true}, wantErr: isFailure},
		{name: "bad type", fake: map[string]any{"hang": "yes"}, wantErr: isFailure},
		{name: "bad status", fake: map[string]any{"result": "great"}, wantErr: isFailure},
		{name: "bad sleep", fake: map[string]any{"sleep": "soon"}, wantErr: isFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := New(Options{})
			job := newJob("j1", tt.fake)
			if tt.name == "sleep past hard time" {
				job.Limits.HardTime = 0.001
			}
			res, err := r.Run(t.Context(), job, nil)
			if tt.wantErr != nil {
				if !tt.wantErr(err) {
					t.Fatalf("Run error = %v, not the expected kind", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Result.Status != tt.wantStatus || res.Grade != tt.wantGrade || res.Result.Text != tt.wantText {
				t.Errorf("Run = %s %v %q, want %s %v %q", res.Result.Status, res.Grade, res.Result.Text, tt.wantStatus, tt.wantGrade, tt.wantText)
			}
		})
	}
}

func isFailure(err error) bool {
	var f *containers.Failure
	return errors.As(err, &f) && f.Public != ""
}

type bundle struct{ data []byte }

func (b bundle) Digest() string               { return "sha256:abc" }
func (b bundle) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.data)), nil }

func TestRuntime_Run_Echo(t *testing.T) {
	t.Parallel()
	r := New(Options{})
	job := newJob("j1", map[string]any{"custom": map[string]any{"k": "v"}, "problems": map[string]any{
		"q1": map[string]any{"status": "failed", "text": "wrong"},
	}, "state": "s2"})
	job.Task = bundle{data: []byte("12345")}
	res, err := r.Run(t.Context(), job, nil)
	if err != nil {
		t.Fatal(err)
	}
	echo := res.Custom["echo"].(map[string]any)
	limits := echo["limits"].(map[string]any)
	if limits["hard_time"] != 3.0 || limits["memory"] != int64(64) {
		t.Errorf("echoed limits %v", limits)
	}
	if echo["task_bundle"] != "sha256:abc" || echo["task_bundle_bytes"] != int64(5) || echo["agent_id"] != "agent1" || echo["attempt"] != int64(1) {
		t.Errorf("echo %v", echo)
	}
	input := echo["input"].(map[string]any)
	if input["q1"] != "answer" || input["@fake"] != nil {
		t.Errorf("echoed input %v", input)
	}
	if res.Custom["k"] != "v" || res.State != "s2" || res.Problems["q1"] != (messages.Result{Status: messages.StatusFailed, Text: "wrong"}) {
		t.Errorf("result %+v", res)
	}
}

func TestRuntime_Run_Cancel(t *testing.T) {
	t.Parallel()
	for _, cause := range []error{containers.ErrKilled, containers.ErrShutdown} {
		for _, fake := range []map[string]any{{"hang": true}, {"sleep": "1h"}, {"block_start": true}} {
			t.Run(cause.Error(), func(t *testing.T) {
				t.Parallel()
				r := New(Options{})
				job := newJob("j1", fake)
				job.Limits.HardTime = 0
				ctx, cancel := context.WithCancelCause(t.Context())
				done := make(chan error, 1)
				go func() { _, err := r.Run(ctx, job, nil); done <- err }()
				testutil.Eventually(t, 10*time.Second, func() bool {
					return r.Blocked("j1") || r.Stats().Started == 1
				}, "job never got going")
				cancel(cause)
				if err := <-done; !errors.Is(err, cause) {
					t.Fatalf("Run error = %v, want it to wrap %v", err, cause)
				}
				if s := r.Stats(); s.Active != 0 {
					t.Errorf("stats after return: %+v", s)
				}
			})
		}
	}
}

func TestRuntime_BlockStart(t *testing.T) {
	t.Parallel()
	r := New(Options{})
	t.Run("cancelled at the gate never starts", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(t.Context())
		done := make(chan error, 1)
		go func() { _, err := r.Run(ctx, newJob("a", map[string]any{"block_start": true}), nil); done <- err }()
		testutil.Eventually(t, 10*time.Second, func() bool { return r.Blocked("a") }, "not blocked")
		cancel(containers.ErrKilled)
		if err := <-done; !errors.Is(err, containers.ErrKilled) {
			t.Fatalf("err = %v", err)
		}
		if s := r.Stats(); s.Started != 0 {
			t.Errorf("started %d, want 0", s.Started)
		}
		r.Release("a") // too late: nothing happens
	})
	t.Run("released runs", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			_, err := r.Run(t.Context(), newJob("b", map[string]any{"block_start": true}), nil)
			done <- err
		}()
		testutil.Eventually(t, 10*time.Second, func() bool { return r.Blocked("b") }, "not blocked")
		r.Release("b")
		r.Release("b") // idempotent
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("released before it blocks", func(t *testing.T) {
		r.Release("c")
		if _, err := r.Run(t.Context(), newJob("c", map[string]any{"block_start": true}), nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRuntime_Environments(t *testing.T) {
	t.Parallel()
	r := New(Options{Environments: map[string][]string{"docker": {"a"}}})
	if !r.offers("docker", "a") || r.offers("docker", "b") {
		t.Fatal("initial environments wrong")
	}
	if _, err := r.Run(t.Context(), func() *containers.Job {
		j := newJob("x", nil)
		j.Desc.Environment = "b"
		return j
	}(), nil); !isFailure(err) {
		t.Errorf("run in an environment not offered: err = %v, want a Failure", err)
	}
	r.SetEnvironments(map[string][]string{"docker": {"b"}, "docker-ssh": {"b"}})
	r.SetEnvironments(map[string][]string{"docker": {"b"}, "docker-ssh": {"b"}}) // coalesces, never blocks
	<-r.Changes()
	envs, _ := r.Environments(t.Context())
	if _, ok := envs["docker-ssh"]["b"]; !ok || len(envs["docker"]) != 1 {
		t.Errorf("environments after change: %v", envs)
	}
}

func TestRuntime_Cleanup(t *testing.T) {
	t.Parallel()
	old := []messages.JobAttempt{{JobID: "old1", Attempt: 1}, {JobID: "old2", Attempt: 2}}
	r := New(Options{Leftovers: old})
	ctx, cancel := context.WithCancelCause(t.Context())
	done := make(chan error, 2)
	for _, id := range []string{"keep", "drop"} {
		go func() { _, err := r.Run(ctx, newJob(id, map[string]any{"hang": true}), nil); done <- err }()
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return r.Stats().Started == 2 }, "jobs did not start")
	// The previous process's leftovers stay until the request lets other
	// sessions' go; this process's attempts go when Keep rejects them.
	req := containers.CleanupRequest{Session: "s1", Keep: func(k messages.JobAttempt) bool { return k.JobID == "keep" }}
	removed, err := r.Cleanup(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if want := []messages.JobAttempt{{JobID: "drop", Attempt: 1}}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	if err := <-done; !isFailure(err) {
		t.Errorf("removed job: err = %v, want a Failure", err)
	}
	req.Others = true
	if removed, err = r.Cleanup(ctx, req); err != nil || !slices.Equal(removed, old) {
		t.Errorf("removed %v, %v; want %v", removed, err, old)
	}
	if s := r.Stats(); s.Cleanups != 2 || s.Removed != 3 || s.Active != 1 {
		t.Errorf("stats %+v", s)
	}
	cancel(containers.ErrShutdown)
	if err := <-done; !errors.Is(err, containers.ErrShutdown) {
		t.Errorf("kept job: err = %v", err)
	}
}

func TestRuntime_Stats_MaxActive(t *testing.T) {
	t.Parallel()
	r := New(Options{})
	ctx, cancel := context.WithCancelCause(t.Context())
	var wg sync.WaitGroup
	for _, id := range []string{"a", "b", "c"} {
		wg.Go(func() { _, _ = r.Run(ctx, newJob(id, map[string]any{"hang": true}), nil) })
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return r.Stats().Active == 3 }, "not all running")
	cancel(containers.ErrShutdown)
	wg.Wait()
	if s := r.Stats(); s.MaxActive != 3 || s.Active != 0 || s.Calls != 3 || s.Started != 3 {
		t.Errorf("stats %+v", s)
	}
	if err := r.Close(); err != nil || r.Stats().Closes != 1 {
		t.Errorf("Close: %v", err)
	}
}

type sshEvents struct{ host string }

func (e *sshEvents) SSHDebug(host string, _ int, _, _ string) { e.host = host }

func TestRuntime_Run_SSH(t *testing.T) {
	t.Parallel()
	r := New(Options{})
	ev := &sshEvents{}
	if _, err := r.Run(t.Context(), newJob("s", map[string]any{"ssh": true}), ev); err != nil {
		t.Fatal(err)
	}
	if ev.host != "127.0.0.1" {
		t.Errorf("SSHDebug not called")
	}
}

// syncBuffer is a bytes.Buffer safe for the runtime's concurrent Runs.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	return b.buf.Write(p)
}

func (b *syncBuffer) lines() ([]string, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Split(strings.TrimSuffix(b.buf.String(), "\n"), "\n"), b.writes
}

func TestRuntime_RunLog(t *testing.T) {
	t.Parallel()
	log := &syncBuffer{}
	r := New(Options{RunLog: log})
	run := func(ctx context.Context, id string, attempt int, fake map[string]any) error {
		job := newJob(id, fake)
		job.Attempt = attempt
		_, err := r.Run(ctx, job, nil)
		return err
	}
	before := time.Now().UnixNano()
	_ = run(t.Context(), "ok", 1, nil)
	_ = run(t.Context(), "bad", 2, map[string]any{"result": "failed"})
	_ = run(t.Context(), "crash", 1, map[string]any{"crash": "boom"}) // never starts: no lines
	for _, cause := range []error{containers.ErrKilled, containers.ErrShutdown} {
		ctx, cancel := context.WithCancelCause(t.Context())
		done := make(chan error, 1)
		id := "hang-" + strings.ReplaceAll(cause.Error(), " ", "-")
		started := r.Stats().Started
		go func() { done <- run(ctx, id, 3, map[string]any{"hang": true}) }()
		testutil.Eventually(t, 10*time.Second, func() bool { return r.Stats().Started == started+1 }, "not running")
		cancel(cause)
		<-done
	}
	after := time.Now().UnixNano()

	lines, writes := log.lines()
	want := []string{
		"start agent1 ok 1", "end agent1 ok 1 success",
		"start agent1 bad 2", "end agent1 bad 2 failed",
		"start agent1 hang-job-killed 3", "end agent1 hang-job-killed 3 killed",
		"start agent1 hang-agent-shutting-down 3", "end agent1 hang-agent-shutting-down 3 crash",
	}
	if len(lines) != len(want) || writes != len(want) {
		t.Fatalf("%d lines in %d writes, want %d in as many:\n%s", len(lines), writes, len(want), strings.Join(lines, "\n"))
	}
	var last int64
	for i, line := range lines {
		f := strings.Fields(line)
		if len(f) < 2 {
			t.Fatalf("line %q", line)
		}
		ns, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || ns < before || ns > after || ns < last {
			t.Errorf("line %q: time %d not in [%d, %d] after %d", line, ns, before, after, last)
		}
		last = ns
		if got := strings.Join(slices.Delete(f, 1, 2), " "); got != want[i] {
			t.Errorf("line %d = %q, want %q with a time", i, line, want[i])
		}
	}
	if s := r.Stats(); s.LogErrors != 0 {
		t.Errorf("log errors: %+v", s)
	}
}

func TestOpenRunLog_SharedFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "runs.log")
	// Two runtimes, as two agent processes would, each with its own file
	// handle in append mode.
	const jobs = 200
	var wg sync.WaitGroup
	for _, agentID := range []string{"agentA", "agentB"} {
		f, err := OpenRunLog(path)
		if err != nil {
			t.Fatal(err)
		}
		r := New(Options{RunLog: f})
		wg.Go(func() {
			defer f.Close()
			var inner sync.WaitGroup
			for i := range jobs {
				inner.Go(func() {
					job := newJob(fmt.Sprintf("j%03d", i), nil)
					job.AgentID = agentID
					if _, err := r.Run(t.Context(), job, nil); err != nil {
						t.Error(err)
					}
				})
			}
			inner.Wait()
		})
	}
	wg.Wait()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2*2*jobs {
		t.Fatalf("%d lines, want %d", len(lines), 4*jobs)
	}
	seen := map[string]bool{}
	for _, line := range lines {
		f := strings.Fields(line)
		ok := (f[0] == "start" && len(f) == 5) || (f[0] == "end" && len(f) == 6 && f[5] == "success")
		if !ok {
			t.Fatalf("malformed line %q", line)
		}
		seen[f[0]+" "+f[2]+" "+f[3]] = true
	}
	if len(seen) != 4*jobs {
		t.Errorf("%d distinct events, want %d", len(seen), 4*jobs)
	}
}

// TestRuntime_Run_DebugOutput: the grader's output is in the result only
// when the job asks for debug, as the docker runtime does.
func TestRuntime_Run_DebugOutput(t *testing.T) {
	t.Parallel()
	r := New(Options{})
	for _, debug := range []messages.DebugMode{messages.DebugOff, messages.DebugOn, messages.DebugSSH} {
		job := newJob("j-"+string(debug), map[string]any{"stdout": "out\n", "stderr": "err\n"})
		job.Desc.Debug = debug
		res, err := r.Run(t.Context(), job, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := [2]string{"out\n", "err\n"}
		if debug == messages.DebugOff {
			want = [2]string{}
		}
		if got := [2]string{res.Stdout, res.Stderr}; got != want {
			t.Errorf("debug %q: stdout, stderr = %q, want %q", debug, got, want)
		}
	}
}
