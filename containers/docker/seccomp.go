package docker

// The seccomp profiles grading and student containers may run under
// (Options.Seccomp).
const (
	// SeccompIngo is the default profile of the Docker release ingo is
	// built with (github.com/moby/profiles), given to the daemon with
	// each container, whatever the daemon's own release: the profile of
	// a daemon before Docker 25 (Debian 12's 20.10, for one) lets a
	// container's processes use io_uring, a kernel interface behind many
	// privilege escalations, which no grader or student program needs;
	// the current profile refuses it (EPERM). Everything else is as
	// Docker's default.
	SeccompIngo = "ingo"
	// SeccompDaemon is the daemon's own default profile, or the one its
	// daemon.json names (seccomp-profile).
	SeccompDaemon = "daemon"
)

// DefaultSeccomp is Options.Seccomp's default.
const DefaultSeccomp = SeccompIngo

// securityOpt is the HostConfig.SecurityOpt of every container the runtime
// makes.
func (r *Runtime) securityOpt() []string {
	if r.opts.Seccomp == SeccompDaemon {
		return []string{"no-new-privileges"}
	}
	if opt := ingoSeccompOpt(); opt != "" {
		return []string{"no-new-privileges", opt}
	}
	return []string{"no-new-privileges"}
}
