package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/internal/taskfile"
	"github.com/ingo-grader/ingo/internal/termsafe"
	"github.com/ingo-grader/ingo/messages"
)

type submitOptions struct {
	inputs, files []string
	env, envType  string
	courseDir     string
	priority      int
	debug, ssh    bool
	wait, json    bool
}

func newSubmitCmd(a *app) *cobra.Command {
	var o submitOptions
	cmd := &cobra.Command{
		Use:   "submit TASKDIR",
		Short: "Submit a job for a task folder",
		Long: `Submit a grading job for the task in TASKDIR.

The task folder is packed and stored in NATS by its content hash (only if it
is not there yet); agents fetch it from there. TASKDIR/task.yaml is read as
INGInious does: environment_type, environment_id and environment_parameters
(limits: time, hard_time, memory; network_grading; run_cmd), or the older
top-level environment and limits. --env and --env-type override it.

Answers: -i PID=VALUE gives problem PID a text answer (repeat it for several
values of one problem: a list); -i 'PID[]=VALUE' makes the answer a list even
with one value, and a multiple choice with multiple set in task.yaml is always
a list, as the INGInious webapp sends it; -i PID=@FILE gives it the text of
FILE (@@ starts a value with a literal @); -f PID=FILE sends a file, as an
INGInious upload. The webapp's @-keys are filled in (@username, @lang en,
@state ""...) unless given: -i @random=NUMBER adds a number to @random, which
is always a list of numbers (get_input("@random")[0] is 0.37 after -i
@random=0.37); without it, a task with input_random: N in task.yaml gets N
numbers drawn in [0, 1), as the webapp draws them, printed on stderr.

--course-dir DIR names the course folder (INGInious' tasks/COURSE): the job's
course is its name, and its $common folder, when there is one, is packed with
the task and seen at /course/common, as the INGInious bridge does (the job's
own copy: a run file may write there, where INGInious mounts it read-only).
Without it the course is the name of TASKDIR's parent and there is no
/course/common.

--debug asks for the grader's stdout and stderr: they come with the result,
printed after the feedback (in --json as "stdout" and "stderr").

Without --wait, submit prints the job id once the backend has queued the job.
With --wait it shows progress on stderr when that is a terminal (position in
the queue and why it waits, agent, elapsed time; nothing otherwise) and prints the
result on stdout; --json prints it as JSON. submit exits 0 once a result
arrived, whatever its status, and non-zero only when no result could be had.`,
		Example: `  ingo submit examples/hello --wait
  ingo submit examples/hello -i name=Ada --wait --json
  ingo submit courses/quiz/q1 -i 'choice[]=2' -i @random=0.37 --wait
  ingo submit courses/algo/sort -f code=sort.py --priority 1 --wait
  ingo submit tasks/algo/sort --course-dir tasks/algo -i code=@sort.py --debug --wait`,
		Args: exactArgs(1, "TASKDIR"),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runSubmit(cmd.Context(), args[0], o) },
	}
	fs := cmd.Flags()
	fs.StringArrayVarP(&o.inputs, "input", "i", nil, "answer to a problem, `PID=VALUE` (repeatable: a list; PID[]=VALUE: a list of one)")
	fs.StringArrayVarP(&o.files, "file", "f", nil, "file answer to a problem, `PID=FILE` (repeatable)")
	fs.StringVar(&o.env, "env", "", "environment, overriding task.yaml's environment_id (default \"default\")")
	fs.StringVar(&o.envType, "env-type", "", "environment type, overriding task.yaml's environment_type (default \"docker\")")
	fs.StringVar(&o.courseDir, "course-dir", "", "course folder: the course's name, and its $common files at /course/common")
	fs.IntVar(&o.priority, "priority", 0, "priority: lower runs first")
	fs.BoolVar(&o.debug, "debug", false, "return the grader's stdout and stderr with the result")
	fs.BoolVar(&o.ssh, "ssh", false, "debug over SSH: the job's container serves SSH instead of running the grader; print the ssh command and password on stderr when ready (implies --wait)")
	fs.BoolVar(&o.wait, "wait", false, "wait for the result, showing progress on stderr")
	jsonFlag(fs, &o.json)
	return cmd
}

func (a *app) runSubmit(ctx context.Context, dir string, o submitOptions) error {
	req, err := buildJob(dir, o, time.Now())
	if err != nil {
		return err
	}
	if r, _ := req.InputData[taskfile.RandomKey].([]any); len(r) > 0 && !randomGiven(o.inputs) {
		// The student would see them in the task's statement; the teacher
		// needs them to tell a right result from a wrong one.
		fmt.Fprintf(a.stderr, "@random drawn for task.yaml's input_random: %s (choose them with -i @random=NUMBER, once per number)\n", randomList(r))
	}
	for _, w := range taskfile.UnknownAnswers(req.TaskProblems, slices.Collect(maps.Keys(req.InputData))) {
		// Submitted anyway: the grader may read inputs no problem shows.
		fmt.Fprintf(a.stderr, "warning: %s; submitted anyway\n", termsafe.Line(w))
	}
	if missing := taskfile.Unanswered(req.TaskProblems, slices.Collect(maps.Keys(req.InputData))); len(missing) > 0 {
		// Submitted anyway, to test how the run file takes it; a run
		// file that reads every answer then fails as it never can on
		// INGInious, whose webapp sends every problem's.
		fmt.Fprintf(a.stderr, "warning: no answer for problem %s (INGInious' webapp always sends one; give it with -i or -f); submitted anyway\n",
			termsafe.Line(strings.Join(missing, ", ")))
	}
	c, closeClient, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer closeClient()

	job, err := c.NewJob(ctx, req)
	if err != nil {
		return err
	}
	if !o.wait && !o.ssh {
		if o.json {
			return printJSON(a.stdout, map[string]string{"job_id": job.ID()})
		}
		_, err := fmt.Fprintln(a.stdout, job.ID())
		return err
	}
	res, err := a.follow(ctx, c, job, req)
	if err != nil {
		return err
	}
	if o.json {
		return printJSON(a.stdout, newResultJSON(res))
	}
	return printResult(a.stdout, res)
}

// buildJob makes the job request from the task folder and the flags.
func buildJob(dir string, o submitOptions, now time.Time) (frontendclient.JobRequest, error) {
	spec, err := taskfile.ReadDir(dir)
	if err != nil {
		return frontendclient.JobRequest{}, err
	}
	if o.env != "" {
		spec.Environment = o.env
	}
	if o.envType != "" {
		spec.EnvironmentType = o.envType
	}
	data, err := inputData(o.inputs, o.files, spec.Problems, now)
	if err != nil {
		return frontendclient.JobRequest{}, err
	}
	if spec.InputRandom > 0 && !randomGiven(o.inputs) {
		data[taskfile.RandomKey] = drawRandom(spec.InputRandom)
	}
	if taskfile.NeedsRunFile(spec) && taskfile.FindRunFile(dir) == "" &&
		(o.courseDir == "" || taskfile.FindRunFile(filepath.Join(o.courseDir, "_")) == "") {
		// Refused here rather than graded as crash by the agent.
		return frontendclient.JobRequest{}, fmt.Errorf("%s has no run file (%s, or run_cmd in task.yaml): every job would end in crash; see ingo task check %s",
			dir, strings.Join(taskfile.RunFiles, ", "), dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return frontendclient.JobRequest{}, fmt.Errorf("task folder: %w", err)
	}
	// INGInious keeps tasks in <course>/<task> folders; the names show in
	// queue snapshots as "course/task".
	course := filepath.Base(filepath.Dir(abs))
	common, err := courseCommon(o.courseDir)
	if err != nil {
		return frontendclient.JobRequest{}, err
	}
	if o.courseDir != "" {
		cabs, err := filepath.Abs(o.courseDir)
		if err != nil {
			return frontendclient.JobRequest{}, fmt.Errorf("--course-dir: %w", err)
		}
		course = filepath.Base(cabs)
	}
	debug := messages.DebugOff
	switch {
	case o.ssh: // INGInious' SSH debug returns the output too
		debug = messages.DebugSSH
	case o.debug:
		debug = messages.DebugOn
	}
	return frontendclient.JobRequest{
		ClientNewJob: messages.ClientNewJob{
			JobDescription: messages.JobDescription{
				JobID:                 uuid.NewString(),
				CourseID:              course,
				TaskID:                filepath.Base(abs),
				TaskProblems:          spec.Problems,
				InputData:             data,
				EnvironmentType:       spec.EnvironmentType,
				Environment:           spec.Environment,
				EnvironmentParameters: spec.Parameters,
				Debug:                 debug,
			},
			Priority: o.priority,
			Launcher: "CLI - " + data["@username"].(string),
		},
		TaskDir:   dir,
		CommonDir: common,
	}, nil
}

// courseCommon is the $common folder of the course folder dir, or "" when
// dir is "" or has none (a course without common files, as the bridge
// takes it).
func courseCommon(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("--course-dir: %w", err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("--course-dir %s: not a folder", dir)
	}
	common := filepath.Join(dir, bundle.CommonDir)
	if st, err := os.Stat(common); err != nil || !st.IsDir() {
		return "", nil
	}
	return common, nil
}
