package main

import (
	"context"
	"io"
	"maps"
	"slices"

	"github.com/spf13/cobra"
)

func newEnvsCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "envs",
		Short: "List the environments the agents offer",
		Long: `List the environments jobs can run in now: those offered by at least one
connected agent, by type. --json prints {"type": ["name", ...]}.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runEnvs(cmd.Context(), asJSON) },
	}
	jsonFlag(cmd.Flags(), &asJSON)
	return cmd
}

func (a *app) runEnvs(ctx context.Context, asJSON bool) error {
	c, closeClient, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer closeClient()
	envs := c.Environments()
	if envs == nil {
		envs = map[string][]string{}
	}
	if asJSON {
		return printJSON(a.stdout, envs)
	}
	return printEnvs(a.stdout, envs)
}

func printEnvs(w io.Writer, envs map[string][]string) error {
	t := newTable(w)
	t.row("TYPE", "ENVIRONMENT")
	for _, typ := range slices.Sorted(maps.Keys(envs)) {
		for _, name := range slices.Sorted(slices.Values(envs[typ])) {
			t.row(typ, name)
		}
	}
	return t.flush()
}
