//go:build !linux

package docker

// ingoSeccompOpt is empty where moby/profiles has no default profile (it
// is Linux's): an agent built for another system (a Docker Desktop's
// Linux VM) leaves the profile to the daemon.
func ingoSeccompOpt() string { return "" }
