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
	const remedy = "Give these jobs a network of their own without it: docker network create -o " + iccOption + "=false NAME, then agent.docker.network=NAME (docs/security.md)"
	switch n.Driver {
	case "bridge":
		if n.Options[iccOption] != "false" {
			r.log.Warn("docker runtime: on this network the containers of network_grading jobs reach each other: one job's code reaches the servers another job's grader or student runs. "+remedy,
				"network", r.opts.Network)
		}
	case "host":
		// Silent before, as for any driver but bridge: yet these jobs
		// then share the host's network namespace, and reach each other
		// and every service of the host on its loopback, ingo's own.
		r.log.Warn("docker runtime: network_grading jobs share this host's network: their code reaches each other's servers and every service of this host, on its loopback too (ingo's NATS, HTTP API and metrics). "+remedy,
			"network", r.opts.Network)
	case "null":
	default:
		// overlay, macvlan, ipvlan, plugins: their containers reach each
		// other unless the driver isolates them, which the agent cannot
		// tell (enable_icc is the bridge driver's).
		r.log.Warn("docker runtime: the containers of network_grading jobs may reach each other on this network: the agent can tell only of bridge networks. "+remedy,
			"network", r.opts.Network, "driver", n.Driver)
	}
}
