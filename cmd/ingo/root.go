package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ingo-grader/ingo/internal/config"
)

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "ingo",
		Short: "ingo grades programming exercises: a backend, agents and clients talking over NATS",
		Long: `ingo is an automatic-grading backend in the style of INGInious. Frontends
submit jobs, a backend queues them, agents run them and send results back,
all over NATS.

Settings come from flags (a dedicated one, or --set KEY=VALUE for any key),
INGO_* environment variables, a YAML file (--config or INGO_CONFIG) and
defaults, in that order; docs/configuration.md lists every key.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: a.setup,
		// Without a subcommand there is nothing to do but explain.
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{err: err, command: cmd.CommandPath()}
	})

	pf := root.PersistentFlags()
	pf.StringVar(&a.configFile, "config", "", "YAML settings file ("+config.EnvConfig+")")
	schema.AddFlag(pf, "nats.url", "nats-url", "", "")
	schema.AddFlag(pf, "nats.creds", "creds", "", "")
	schema.AddFlag(pf, "log.level", "log-level", "", "")
	pf.StringArrayVar(&a.sets, "set", nil, "any setting as KEY=VALUE, e.g. --set backend.max-attempts=3 (repeatable; docs/configuration.md lists the keys)")

	root.AddCommand(
		newUpCmd(a),
		newBackendCmd(a),
		newAPICmd(a),
		newINGIniousBridgeCmd(a),
		newAgentCmd(a),
		newSubmitCmd(a),
		newTaskCmd(a),
		newResultCmd(a),
		newJobsCmd(a),
		newKillCmd(a),
		newQueueCmd(a),
		newEnvsCmd(a),
		newAgentsCmd(a),
		newVersionCmd(a),
		newCredsCmd(a),
		newCertsCmd(a),
		newTokenCmd(a),
	)
	return root
}

// exactArgs is cobra.ExactArgs with an error that says what is missing and
// where the help is.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		var err error
		if len(args) < n {
			err = fmt.Errorf("missing %s", names)
		} else {
			err = fmt.Errorf("too many arguments: want %s, got %q", names, args)
		}
		return &usageError{err: err, command: cmd.CommandPath()}
	}
}

// noArgs refuses positional arguments with a clear message.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &usageError{err: fmt.Errorf("unexpected argument %q", args[0]), command: cmd.CommandPath()}
	}
	return nil
}

// jsonFlag adds --json, the machine-readable form of a command's output.
func jsonFlag(fs *pflag.FlagSet, v *bool) {
	fs.BoolVar(v, "json", false, "print JSON on stdout instead of a table")
}
