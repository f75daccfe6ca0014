package docker

import (
	"context"

	"github.com/docker/docker/api/types/network"
)

// networkAPI is the network call the runtime makes: a look at
// Options.Network once, at start.
type networkAPI interface {
	NetworkInspect(ctx context.Context, networkID string, options network.InspectOptions) (network.Inspect, error)
}

// iccOption is the bridge driver's option that lets containers of one
// network reach each other; absent means allowed.
const iccOption = "com.docker.network.bridge.enable_icc"

// checkNetwork warns when the network of network_grading jobs lets their
// containers reach each other: on Docker's default bridge (and any bridge
// network made without enable_icc=false), a student's code in one job
// reached the servers another job's grader or student started (a review
// read a grader's hidden expected answers from its test server, and any
// student's own server is as open), and could disturb them. The agent does
// not change the network itself: making one takes an address range of the
// host's, which the operator chooses; and a course's test servers may
// rightly share a network with its jobs.
func (r *Runtime) checkNetwork(ctx context.Context) {
	ctx, cancel := r.apiCtx(ctx)
	defer cancel()
	n, err := r.api.NetworkInspect(ctx, r.opts.Network, network.InspectOptions{})
	if err != nil {
		r.log.Warn("docker runtime: the network of network_grading jobs cannot be inspected; such jobs may fail to start", "network", r.opts.Network, "err", err)
		return
	}
	if n.Driver == "bridge" && n.Options[iccOption] != "false" {
		r.log.Warn("docker runtime: on this network the containers of network_grading jobs reach each other: one job's code reaches the servers another job's grader or student runs. "+
			"Give these jobs a network of their own without it: docker network create -o "+iccOption+"=false NAME, then agent.docker.network=NAME (docs/security.md)",
			"network", r.opts.Network)
	}
}
