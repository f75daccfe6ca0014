package docker

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// testAgents are the agent ids of this test binary's runtimes: what is
// labelled with one of them is this binary's to have removed.
var testAgents sync.Map

// leftovers lists the containers and volumes of this binary's runtimes
// still on the daemon once every test ended. Each runtime removes what it
// made before its Close returns (a test's runtime sharing another's API
// client too): what is left would stay on a shared daemon for good, since
// no later agent has these ids.
func leftovers() ([]string, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := filters.NewArgs(filters.Arg("label", LabelAgent))
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, err
	}
	vs, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range cs {
		if _, ok := testAgents.Load(c.Labels[LabelAgent]); ok {
			out = append(out, fmt.Sprintf("container %.12s (%s, %s)", c.ID, c.State, c.Labels[LabelJob]))
		}
	}
	for _, v := range vs.Volumes {
		if _, ok := testAgents.Load(v.Labels[LabelAgent]); ok {
			out = append(out, fmt.Sprintf("volume %s (%s, %s)", v.Name, v.Labels[LabelRole], v.Labels[LabelJob]))
		}
	}
	return out, nil
}
