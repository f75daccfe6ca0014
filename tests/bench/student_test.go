package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/docker"
	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// studentRun times, inside one grading job, N calls of `run_student true`
// and a stream of S MiB through `run_student cat`, and prints the figures
// as "calls_ns=... stream_ns=..." in its feedback.
const studentRun = `#!/bin/bash
n=$(getinput n); mib=$(getinput mib)
t0=$(date +%s%N)
for i in $(seq "$n"); do run_student true || exit 1; done
t1=$(date +%s%N)
head -c $((mib << 20)) /dev/zero >/task/in
t2=$(date +%s%N)
got=$(run_student cat </task/in | wc -c)
t3=$(date +%s%N)
feedback-msg -m "calls_ns=$(( (t1 - t0) / n )) stream_ns=$((t3 - t2)) bytes=$got"
feedback-result success
`

// TestStudentReport measures run_student against its references in the
// same run: a bare `docker run --rm --network none` (what a student
// container costs at the least) and the same bytes piped through
// `docker run -i --rm ... cat` with the Docker CLI. INGO_BENCH=1 runs 20
// calls and 256 MiB; otherwise 3 calls and 16 MiB.
func TestStudentReport(t *testing.T) {
	testutil.RequireImage(t, benchImage)
	n, mib := 3, 16
	if os.Getenv("INGO_BENCH") != "" {
		n, mib = 20, 256
	}
	rt, err := docker.New(context.Background(), docker.Options{AgentID: "bench-student"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	task := t.TempDir()
	if err := os.WriteFile(task+"/run", []byte(studentRun), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Pack(task, bundle.PackLimits{})
	if err != nil {
		t.Fatal(err)
	}
	job := &containers.Job{AgentID: "bench-student", Attempt: 1,
		Desc: &messages.JobDescription{JobID: fmt.Sprintf("student-bench-%d", time.Now().UnixNano()),
			EnvironmentType: "docker", Environment: "default",
			InputData: map[string]any{"n": strconv.Itoa(n), "mib": strconv.Itoa(mib)}},
		Limits: messages.Limits{Time: 120, HardTime: 300, Memory: 512, Processes: 256, Output: 1 << 20, Disk: int64(2*mib + 64)},
		Task:   b}
	res, err := rt.Run(t.Context(), job, nil)
	if err != nil || res.Result.Status != messages.StatusSuccess {
		t.Fatalf("job: %v %+v", err, res.Result)
	}
	var callsNS, streamNS, got int64
	if _, err := fmt.Sscanf(res.Result.Text, "calls_ns=%d stream_ns=%d bytes=%d", &callsNS, &streamNS, &got); err != nil || got != int64(mib)<<20 {
		t.Fatalf("feedback %q: %v", res.Result.Text, err)
	}

	// References, through the Docker CLI.
	var bare []time.Duration
	for range n {
		start := time.Now()
		if out, err := exec.Command("docker", "run", "--rm", "--network", "none", "--entrypoint", "/bin/true", benchImage).CombinedOutput(); err != nil {
			t.Fatalf("docker run: %v: %s", err, out)
		}
		bare = append(bare, time.Since(start))
	}
	in := bytes.NewReader(make([]byte, mib<<20))
	cmd := exec.Command("docker", "run", "-i", "--rm", "--network", "none", "--entrypoint", "/bin/cat", benchImage)
	cmd.Stdin = in
	var out countWriter
	cmd.Stdout = &out
	start := time.Now()
	if err := cmd.Run(); err != nil || out.n != int64(mib)<<20 {
		t.Fatalf("docker run -i cat: %v, %d bytes", err, out.n)
	}
	cliStream := time.Since(start)

	mbps := func(d time.Duration) float64 { return float64(mib) / d.Seconds() }
	report := fmt.Sprintf(`run_student report (%d calls, %d MiB, image %s)
  bare docker run --rm --network none true : median %v
  run_student true, from a run file        : mean %v
  docker run -i cat, %d MiB                : %.0f MiB/s (%v, container start included)
  run_student cat, %d MiB                  : %.0f MiB/s (%v, container start included)
`, n, mib, benchImage, median(bare).Round(time.Millisecond), time.Duration(callsNS).Round(time.Millisecond),
		mib, mbps(cliStream), cliStream.Round(time.Millisecond), mib, mbps(time.Duration(streamNS)), time.Duration(streamNS).Round(time.Millisecond))
	t.Log("\n" + report)
	fmt.Fprint(os.Stderr, strings.TrimRight(report, "\n")+"\n")
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
