package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/taskfile"
	"github.com/ingo-grader/ingo/internal/termsafe"
)

type taskTestOptions struct {
	run       string
	parallel  int
	timeout   time.Duration
	courseDir string
	debug     bool
	json      bool
}

func newTaskTestCmd(a *app) *cobra.Command {
	var o taskTestOptions
	cmd := &cobra.Command{
		Use:   "test TASKDIR",
		Short: "Grade the sample answers of TASKDIR/tests/*.yaml and compare each result with the expected one",
		Long: `Grade each sample answer of TASKDIR/tests/*.yaml on the running installation,
as 'ingo submit' would (several at a time), and compare its result with the
one the file expects: status, grade (exact or a range such as ">= 50"), and
regular expressions the feedback must or must not match. The format is in
docs/task-authors.md ("Sample answers").

It prints a table (test, expected, got, time, PASS or FAIL with the first
mismatch) and a summary, then every mismatch of each failed test (with
--debug, the grader's stdout and stderr too). It exits 1 when a test
failed or could not run, so a course repository's CI can run it after
every change to a task or an image. --json prints the same as JSON.`,
		Example: `  ingo task test examples/hello
  ingo task test --run 'slow|crash' --debug courses/algo/sort
  ingo task test --json --course-dir courses/algo courses/algo/sort`,
		Args: exactArgs(1, "TASKDIR"),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runTaskTest(cmd.Context(), args[0], o) },
	}
	fs := cmd.Flags()
	fs.StringVar(&o.run, "run", "", "run only the tests whose name matches this regular expression")
	fs.IntVar(&o.parallel, "parallel", 4, "tests in flight at once")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "longest wait for one test's result (queueing included); then it is killed and counted as an error")
	fs.StringVar(&o.courseDir, "course-dir", "", "course folder, as for 'ingo submit': the course's name and its $common files")
	fs.BoolVar(&o.debug, "debug", false, "grade in debug mode and print the grader's stdout and stderr of failed tests")
	jsonFlag(fs, &o.json)
	return cmd
}

// sampleRun is one sample's outcome.
type sampleRun struct {
	sample taskfile.Sample
	jobID  string
	result *resultJSON
	took   time.Duration
	// mismatches are the differences from the expectation; err says why
	// there is no result to compare (the sample is broken, or the job
	// could not be graded).
	mismatches []string
	err        error
}

func (r sampleRun) passed() bool { return r.err == nil && len(r.mismatches) == 0 }

func (a *app) runTaskTest(ctx context.Context, dir string, o taskTestOptions) error {
	if o.parallel < 1 {
		return &usageError{err: fmt.Errorf("--parallel %d: at least 1", o.parallel), command: "ingo task test"}
	}
	var sel *regexp.Regexp
	if o.run != "" {
		var err error
		if sel, err = regexp.Compile(o.run); err != nil {
			return &usageError{err: fmt.Errorf("--run: %w", err), command: "ingo task test"}
		}
	}
	report, err := taskfile.Check(dir, taskfile.CheckOptions{})
	if err != nil {
		return err
	}
	runs := a.plannedRuns(dir, report, sel)
	if len(runs) == 0 {
		return fmt.Errorf("%s: no sample answers to run in %s/*.yaml%s (docs/task-authors.md, \"Sample answers\")",
			dir, taskfile.SamplesDir, map[bool]string{true: " matching --run " + o.run}[o.run != ""])
	}
	start := time.Now()
	if err := a.gradeSamples(ctx, dir, o, runs); err != nil {
		return err
	}
	if err := a.printSampleRuns(runs, time.Since(start), o); err != nil {
		return err
	}
	var failed []string
	for _, r := range runs {
		if !r.passed() {
			failed = append(failed, r.sample.Name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d sample answer(s) did not pass: %s", len(failed), len(runs), strings.Join(failed, ", "))
	}
	return nil
}

// plannedRuns lists the samples to run: the well-formed ones, and the
// broken ones as errors (each is a test that cannot pass). Problems of
// task.yaml itself go to stderr: the grading may still work.
func (a *app) plannedRuns(dir string, report *taskfile.Report, sel *regexp.Regexp) []*sampleRun {
	broken := map[string][]string{}
	for _, f := range report.Findings {
		if f.Severity != taskfile.SevError {
			continue
		}
		if filepath.Dir(f.File) == filepath.Join(dir, taskfile.SamplesDir) {
			broken[f.File] = append(broken[f.File], f.String())
			continue
		}
		fmt.Fprintf(a.stderr, "%s\n", termsafe.Block(f.String()))
	}
	var runs []*sampleRun
	seen := map[string]bool{}
	for _, s := range report.Samples {
		seen[s.Path] = true
		if sel != nil && !sel.MatchString(s.Name) {
			continue
		}
		r := &sampleRun{sample: s}
		if msgs := broken[s.Path]; len(msgs) > 0 {
			r.err = errors.New(strings.Join(msgs, "; "))
		}
		runs = append(runs, r)
	}
	for path, msgs := range broken {
		if seen[path] {
			continue
		}
		s, _ := taskfile.ReadSample(path)
		if sel != nil && !sel.MatchString(s.Name) {
			continue
		}
		runs = append(runs, &sampleRun{sample: s, err: errors.New(strings.Join(msgs, "; "))})
	}
	return runs
}

// gradeSamples submits the runnable samples, at most o.parallel in
// flight, and fills in their results.
func (a *app) gradeSamples(ctx context.Context, dir string, o taskTestOptions, runs []*sampleRun) error {
	c, closeClient, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer closeClient()
	sem := make(chan struct{}, o.parallel)
	var wg sync.WaitGroup
	progress := a.sampleProgress(runs)
	for _, r := range runs {
		if r.err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				r.err = context.Cause(ctx)
				return
			}
			a.gradeSample(ctx, c, dir, o, r)
			progress(r)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// sampleProgress returns what to call as each test ends: on a terminal
// it says how many are done on stderr, elsewhere (CI logs) nothing.
func (a *app) sampleProgress(runs []*sampleRun) func(*sampleRun) {
	if !isTerminal(a.stderr) {
		return func(*sampleRun) {}
	}
	var mu sync.Mutex
	done, total := 0, 0
	for _, r := range runs {
		if r.err == nil {
			total++
		}
	}
	return func(r *sampleRun) {
		mu.Lock()
		defer mu.Unlock()
		done++
		fmt.Fprintf(a.stderr, "\r%d/%d graded (last: %s, %s)\x1b[K", done, total, termsafe.Line(r.sample.Name), r.outcome())
		if done == total {
			fmt.Fprint(a.stderr, "\r\x1b[K")
		}
	}
}

// gradeSample submits one sample as `ingo submit` would and compares.
func (a *app) gradeSample(ctx context.Context, c *frontendclient.Client, dir string, o taskTestOptions, r *sampleRun) {
	start := time.Now()
	defer func() { r.took = time.Since(start) }()
	inputs, files := r.sample.Args()
	req, err := buildJob(dir, submitOptions{inputs: inputs, files: files, courseDir: o.courseDir, debug: o.debug}, start)
	if err != nil {
		r.err = err
		return
	}
	req.Launcher = "CLI task test - " + r.sample.Name
	job, err := c.NewJob(ctx, req)
	if err != nil {
		r.err = fmt.Errorf("submit: %w", err)
		return
	}
	r.jobID = job.ID()
	wctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	done, err := job.Wait(wctx)
	if err != nil {
		if wctx.Err() != nil {
			// Timed out, or interrupted: a test nobody waits for any
			// more should not keep an agent slot.
			kctx, kcancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
			_ = c.KillJob(kctx, job.ID()) // best effort: it may have just ended
			kcancel()
			err = fmt.Errorf("no result within --timeout %v (job %s killed)", o.timeout, job.ID())
			if ctx.Err() != nil {
				err = fmt.Errorf("interrupted (job %s killed)", job.ID())
			}
		}
		r.err = err
		return
	}
	res := newResultJSON(done)
	r.result = &res
	r.mismatches = r.sample.Expect.Mismatches(&done.JobResult)
}
