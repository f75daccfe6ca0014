package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ingo-grader/ingo/internal/taskfile"
	"github.com/ingo-grader/ingo/internal/termsafe"
)

// newTaskCmd groups the task authors' tools.
func newTaskCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "task",
		Short: "Tools for task authors: check a task folder, run its sample answers",
		Long: `Tools for task authors (docs/task-authors.md):

  ingo task check DIR   reports what is wrong with a task folder before students see it
  ingo task test DIR    grades the sample answers of DIR/tests/*.yaml and compares
                        each result with the one it must get`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newTaskCheckCmd(a), newTaskTestCmd(a))
	return cmd
}

type taskCheckOptions struct {
	json, offline bool
	problemTypes  []string
}

func newTaskCheckCmd(a *app) *cobra.Command {
	var o taskCheckOptions
	cmd := &cobra.Command{
		Use:   "check TASKDIR",
		Short: "Check a task folder: task.yaml, problems, run file, sample answers, environment",
		Long: `Check the task folder TASKDIR and report every problem found, one line each,
as FILE:LINE: SEVERITY: MESSAGE:

  - task.yaml as ingo and INGInious read it (the current environment_type,
    environment_id, environment_parameters, or the older top-level
    environment and limits): YAML errors, unknown or misspelled keys, values
    INGInious would refuse, limits out of range;
  - problems: ids, types (INGInious' and --problem-type), choices of a
    multiple_choice, the answer of a match, boxes of a code problem;
  - the run file: missing, not executable, or a #! interpreter the
    environment probably lacks;
  - TASKDIR/tests/*.yaml, the sample answers of 'ingo task test': well formed,
    answering problems the task has, naming files that exist;
  - the environment: whether an agent of the running installation offers it.
    When no backend answers (or with --offline) this is not checked, and
    said so.

Exit status: 1 when there is an error, 0 otherwise (warnings do not fail).
--json prints {"findings": [...], "errors": N, "warnings": N} for CI.`,
		Example: `  ingo task check examples/hello
  ingo task check --offline --json courses/algo/sort`,
		Args: exactArgs(1, "TASKDIR"),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runTaskCheck(cmd.Context(), args[0], o) },
	}
	fs := cmd.Flags()
	fs.BoolVar(&o.offline, "offline", false, "do not ask the installation whether an agent offers the environment")
	fs.StringArrayVar(&o.problemTypes, "problem-type", nil, "accept this problem type too, one of a webapp plugin (repeatable)")
	jsonFlag(fs, &o.json)
	return cmd
}

// checkReport is the --json form of `ingo task check`.
type checkReport struct {
	Dir         string             `json:"dir"`
	Environment string             `json:"environment"`
	Samples     int                `json:"samples"`
	Findings    []taskfile.Finding `json:"findings"`
	Errors      int                `json:"errors"`
	Warnings    int                `json:"warnings"`
}

func (a *app) runTaskCheck(ctx context.Context, dir string, o taskCheckOptions) error {
	r, err := taskfile.Check(dir, taskfile.CheckOptions{ProblemTypes: o.problemTypes})
	if err != nil {
		return err
	}
	env := r.Spec.EnvironmentType + "/" + r.Spec.Environment
	rep := checkReport{Dir: dir, Environment: env, Samples: len(r.Samples), Findings: r.Findings}
	if r.Unread {
		// Spec holds the defaults, not what the task names: saying that
		// docker/default is offered would be about another task.
		rep.Environment = ""
		rep.Findings = append(rep.Findings, taskfile.Finding{Severity: taskfile.SevInfo, File: dir,
			Message: "environment not checked: task.yaml could not be read"})
	} else {
		rep.Findings = append(rep.Findings, a.checkOffered(ctx, dir, r.Spec.EnvironmentType, r.Spec.Environment, o.offline))
	}
	for _, f := range rep.Findings {
		switch f.Severity {
		case taskfile.SevError:
			rep.Errors++
		case taskfile.SevWarning:
			rep.Warnings++
		}
	}
	if o.json {
		err = printJSON(a.stdout, rep)
	} else {
		err = printCheck(a.stdout, rep)
	}
	if err != nil {
		return err
	}
	if rep.Errors > 0 {
		return fmt.Errorf("%s: %d error(s)", dir, rep.Errors)
	}
	return nil
}

func printCheck(w io.Writer, rep checkReport) error {
	for _, f := range rep.Findings {
		if _, err := fmt.Fprintln(w, termsafe.Block(f.String())); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "%s: %s, %d sample answer(s): %d error(s), %d warning(s)\n",
		termsafe.Line(rep.Dir), termsafe.Line(cmpOr(rep.Environment, "environment unknown")), rep.Samples, rep.Errors, rep.Warnings)
	return err
}

// offeredTimeout bounds the wait for a backend in `task check`: the
// environment check is a bonus, and a CI job without an installation
// should not wait client.connect-timeout for it.
const offeredTimeout = 3 * time.Second

// checkOffered asks the running installation whether an agent offers the
// environment: an error if none does, a note if it could not ask.
func (a *app) checkOffered(ctx context.Context, dir, envType, env string, offline bool) taskfile.Finding {
	f := taskfile.Finding{Severity: taskfile.SevInfo, File: dir}
	name := envType + "/" + env
	if offline {
		f.Message = "environment " + name + " not checked (--offline)"
		return f
	}
	saved := a.cfg.Client.ConnectTimeout
	a.cfg.Client.ConnectTimeout = min(saved, offeredTimeout)
	c, closeClient, err := a.openClient(ctx)
	a.cfg.Client.ConnectTimeout = saved
	if err != nil {
		f.Message = fmt.Sprintf("could not check that an agent offers environment %s: %v", name, err)
		return f
	}
	defer closeClient()
	envs := c.Environments()
	if slices.Contains(envs[envType], env) {
		f.Message = "environment " + name + " is offered by the running installation"
		return f
	}
	var offered []string
	for _, t := range slices.Sorted(maps.Keys(envs)) {
		for _, e := range slices.Sorted(slices.Values(envs[t])) {
			offered = append(offered, t+"/"+e)
		}
	}
	f.Severity = taskfile.SevError
	f.Message = fmt.Sprintf("no agent of the running installation offers environment %s (offered: %s): its jobs would wait for one",
		name, cmpOr(strings.Join(offered, ", "), "none"))
	return f
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
