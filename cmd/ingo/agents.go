package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ingo-grader/ingo/messages"
)

func newAgentsCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "agents",
		Short: "List the connected agents and their load",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.runAgents(cmd.Context(), asJSON) },
	}
	jsonFlag(cmd.Flags(), &asJSON)
	return cmd
}

func (a *app) runAgents(ctx context.Context, asJSON bool) error {
	c, closeClient, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer closeClient()
	q, err := c.Queue(ctx)
	if err != nil {
		return fmt.Errorf("agents: %w", err)
	}
	if asJSON {
		return printJSON(a.stdout, nonNil(q.Agents))
	}
	return printAgents(a.stdout, q.Agents, time.Now())
}

func printAgents(w io.Writer, agents []messages.QueueAgent, now time.Time) error {
	t := newTable(w)
	t.row("ID", "NAME", "RUNNING", "SLOTS", "LAST SEEN", "ENVIRONMENTS")
	for _, ag := range agents {
		t.row(ag.AgentID, ag.Name, strconv.Itoa(ag.Running), strconv.Itoa(ag.Slots),
			ago(now, ag.LastSeen), strings.Join(ag.Environments, ","))
	}
	return t.flush()
}
