package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/backend/journal"
	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// TestQueueScaleReport fills the durable journal with waiting jobs (INGO_BENCH=1:
// INGO_QUEUE_JOBS, 200,000 by default; 5,000 otherwise), each with a 1 KiB
// answer as a student's submission has, then starts a backend on it and
// measures what a restart at a deadline costs: the replay until it serves,
// the Go heap the queue holds, and a queue snapshot. Reference in the same
// run: reading the stream alone, without the backend.
func TestQueueScaleReport(t *testing.T) {
	jobs := 5000
	if os.Getenv("INGO_BENCH") != "" {
		jobs = 200_000
		if n, err := strconv.Atoi(os.Getenv("INGO_QUEUE_JOBS")); err == nil && n > 0 {
			jobs = n
		}
	}
	n := testutil.StartNATS(t)
	ctx := context.Background()
	nc := connectAs(t, n.URL, "filler", as(t, n.URL, natsauth.RoleBackend, "backend"))
	j, err := journal.Open(ctx, nc, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	answer := strings.Repeat("x", 1024)
	fillStart := time.Now()
	for i := range jobs {
		job := sampleJob(fmt.Sprintf("q%07d", i)).ClientNewJob
		job.InputData = map[string]any{"q1": answer, "@username": fmt.Sprintf("s%d", i%500), "@lang": "en"}
		job.CourseID = fmt.Sprintf("course%d", i%4)
		job.WaitForEnvironment = true
		job.Environment = "nowhere" // nobody runs them: they all wait
		for {
			_, err := j.Append(&backend.JobQueued{Job: &job, ClientID: "bench", Seq: uint64(i + 1), At: time.Now()})
			if err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond) // too many in flight: wait for acks
		}
	}
	for j.Stored() < uint64(jobs) {
		time.Sleep(10 * time.Millisecond)
	}
	fill := time.Since(fillStart)
	j.Close()

	// Reference: the stream read alone.
	j2, err := journal.Open(ctx, nc, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if pf := os.Getenv("INGO_REPLAY_PROFILE"); pf != "" {
		f, _ := os.Create(pf)
		pprof.StartCPUProfile(f)
	}
	readStart := time.Now()
	count := 0
	if err := j2.Replay(func(backend.Transition) { count++ }); err != nil {
		t.Fatal(err)
	}
	read := time.Since(readStart)
	if os.Getenv("INGO_REPLAY_PROFILE") != "" {
		pprof.StopCPUProfile()
	}
	j2.Close()
	if count != jobs {
		t.Fatalf("read %d records, want %d", count, jobs)
	}

	// The backend's restart: replay, then serve.
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	bnc := connectAs(t, n.URL, "backend", as(t, n.URL, natsauth.RoleBackend, "backend"))
	j3, err := journal.Open(ctx, bnc, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := backend.DefaultConfig()
	cfg.Journal = j3
	b, err := backend.New(bnc, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	if pf := os.Getenv("INGO_SERVE_PROFILE"); pf != "" { // the backend's replay: go tool pprof
		f, _ := os.Create(pf)
		pprof.StartCPUProfile(f)
	}
	start := time.Now()
	go func() { done <- b.Run(runCtx) }()
	var results atomic.Int64
	cl, err := frontendclient.New(ctx, connectAs(t, n.URL, "client", as(t, n.URL, natsauth.RoleFrontend, "bench")),
		frontendclient.Options{Name: "bench", ClientID: "bench", RequestTimeout: 5 * time.Minute,
			OnResult: func(*messages.BackendJobDone) error { results.Add(1); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	serving := time.Since(start)
	if os.Getenv("INGO_SERVE_PROFILE") != "" {
		pprof.StopCPUProfile()
	}
	snapStart := time.Now()
	q, err := cl.Queue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap := time.Since(snapStart)
	if q.Summary == nil || q.Summary.Waiting != jobs {
		t.Fatalf("snapshot summary %+v, want %d waiting", q.Summary, jobs)
	}
	// What `ingo queue` asks (the head of each queue), and the first two
	// pages of `ingo queue --all`.
	headStart := time.Now()
	if _, err := cl.QueryQueue(ctx, messages.ClientGetQueue{PerQueue: 5}); err != nil {
		t.Fatal(err)
	}
	heads := time.Since(headStart)
	pageStart := time.Now()
	p1, err := cl.QueryQueue(ctx, messages.ClientGetQueue{Limit: messages.MaxQueuePage})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.QueryQueue(ctx, messages.ClientGetQueue{Limit: messages.MaxQueuePage, After: p1.Next}); err != nil {
		t.Fatal(err)
	}
	pages := time.Since(pageStart) / 2
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapInuse) - int64(before.HeapInuse)
	if pf := os.Getenv("INGO_HEAP_PROFILE"); pf != "" { // where the queue's memory is: go tool pprof
		if f, err := os.Create(pf); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	drain := drainSome(t, n.URL, &results)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	j3.Close()

	report := fmt.Sprintf(`ingo queue scale report (%d waiting jobs, 1 KiB answer each, durable journal)
  fill the journal (Append)        : %v (%.0f records/s)
  read the stream alone (Replay)   : %v (%.0f records/s)
  backend restart until it serves  : %v (replay and subscribe)
  Go heap held by the queue        : %d MiB (%d bytes per job; the NATS server's memory not counted)
  queue snapshot (summary + 1,000) : %v, %d bytes (request through NATS)
  head of each queue (ingo queue)  : %v
  a page of 1,000 (ingo queue --all): %v
%s`, jobs, fill.Round(time.Millisecond), float64(jobs)/fill.Seconds(), read.Round(time.Millisecond), float64(jobs)/read.Seconds(),
		serving.Round(time.Millisecond), heap>>20, heap/int64(jobs), snap.Round(time.Millisecond), len(mustEncode(t, q)),
		heads.Round(time.Millisecond), pages.Round(time.Millisecond), drain)
	t.Log("\n" + report)
	fmt.Fprint(os.Stderr, report)
}

// drainSome has simulated agents (4 x 16 slots) offer the environment of
// the waiting jobs for INGO_QUEUE_DRAIN seconds (none without it), and
// reports the rate at which results came back: the cost of a job at the
// head of a deadline's queue (a description read back, three records; no
// history here). INGO_DRAIN_PROFILE=FILE profiles it.
func drainSome(t *testing.T, url string, results *atomic.Int64) string {
	secs, _ := strconv.Atoi(os.Getenv("INGO_QUEUE_DRAIN"))
	if secs <= 0 {
		return ""
	}
	if pf := os.Getenv("INGO_DRAIN_PROFILE"); pf != "" {
		f, _ := os.Create(pf)
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	sims := startSimAgentsFor(t, url, "nowhere", 4, 16, time.Second)
	defer sims.close()
	sims.waitRegistered(30 * time.Second)
	start, from := time.Now(), results.Load()
	time.Sleep(time.Duration(secs) * time.Second)
	got := results.Load() - from
	return fmt.Sprintf("  drain, 4 simulated agents x 16   : %d results in %v (%.0f jobs/s)\n",
		got, time.Since(start).Round(time.Millisecond), float64(got)/time.Since(start).Seconds())
}

func mustEncode(t *testing.T, m messages.Message) []byte {
	data, err := messages.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
