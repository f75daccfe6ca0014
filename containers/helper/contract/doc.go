// Package contract is the contract between ingo-helper (containers/helper,
// whose package comment documents it) and the container runtime
// (containers/docker) in Go: the fixed paths, input.json, result.json,
// the bound on a result's size (containers/channel carries the result in
// stdin mode) and how a cgroup's OOM kill count reads. It is a leaf that both import, so that the runtime does not
// link the helper (its SSH server, creack/pty) into the ingo binary.
package contract
