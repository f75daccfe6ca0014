package docker

import (
	"fmt"
	"time"

	"github.com/ingo-grader/ingo/containers/channel"
)

// Defaults of Options and SSHOptions, for their zero fields and for
// DefaultOptions.
const (
	DefaultAPITimeout = 30 * time.Second
	DefaultCPUs       = 1.0
	DefaultNetwork    = "bridge"
	DefaultSSHListen  = "0.0.0.0"
	// DefaultSSHPortMin and DefaultSSHPortMax are the SSH range of an agent
	// nobody configured; a zero SSHOptions has SSH off.
	DefaultSSHPortMin             = 64120
	DefaultSSHPortMax             = 64130
	DefaultSSHMaxPending          = 8
	DefaultSSHMaxPendingPerSource = 3
)

// DefaultAliases offer INGInious' usual environment names on our images.
var DefaultAliases = map[string]string{
	"python3": "default",
	// INGInious' cpp image has CUnit and cppcheck, which C courses link
	// and run (make check): toolchain has them, default not.
	"cpp": "toolchain", "java": "toolchain", "pyjavacpp": "toolchain", "java8scala": "toolchain",
	// The Java names of public courses' tasks (about 390 tasks of seven
	// courses): their run files need a JDK and JUnit 4, hamcrest and
	// Mockito jars where toolchain has them (its Dockerfile).
	"java7": "toolchain", "java8": "toolchain", "java8judge": "toolchain",
	// INGInious' Java images since it renamed them (java-8 in 2025, gone
	// in 2026; java-21; java-25 in 2026): their tasks' run files are
	// those of the names above. toolchain's JDK is Debian's (17), so a
	// task that needs Java 21's language is still to be given an image.
	"java-8": "toolchain", "java-21": "toolchain", "java-25": "toolchain",
}

// DefaultOptions returns the options of an agent nobody configured: SSH on
// its default range, INGInious' environment names as aliases, a warm pool
// of DefaultPoolSize for "default", and the values zero fields stand for. AgentID is still to be given.
func DefaultOptions() Options {
	aliases := make(map[string]string, len(DefaultAliases))
	for k, v := range DefaultAliases {
		aliases[k] = v
	}
	return Options{
		APITimeout: DefaultAPITimeout,
		CPUs:       DefaultCPUs,
		Network:    DefaultNetwork,
		Seccomp:    DefaultSeccomp,
		Aliases:    aliases,
		SSH:        DefaultSSHOptions(),
		Pool: PoolOptions{
			Size:         DefaultPoolSize,
			Environments: append([]string(nil), DefaultPoolEnvironments...),
		},
	}
}

// DefaultSSHOptions returns SSH on its default range with the bounds zero
// fields stand for; Host is found at start.
func DefaultSSHOptions() SSHOptions {
	return SSHOptions{
		Listen:              DefaultSSHListen,
		PortMin:             DefaultSSHPortMin,
		PortMax:             DefaultSSHPortMax,
		LoginTimeout:        channel.DefaultLoginTimeout,
		MaxSession:          channel.DefaultMaxSession,
		HandshakeTimeout:    channel.DefaultHandshakeTimeout,
		MaxPending:          DefaultSSHMaxPending,
		MaxPendingPerSource: DefaultSSHMaxPendingPerSource,
	}
}

// Ports is how many SSH sessions the range allows at once: 0 with SSH off.
func (o SSHOptions) Ports() int {
	if !o.Enabled() {
		return 0
	}
	low := o.PortMin
	if low <= 0 {
		low = o.PortMax // as defaults makes it
	}
	return o.PortMax - low + 1
}

// Validate refuses an SSH range that is not one: both 0 (SSH off), or
// 1 <= port-min <= port-max <= 65535.
func (o SSHOptions) Validate() error {
	if o.PortMin == 0 && o.PortMax == 0 {
		return nil
	}
	if o.PortMin < 1 || o.PortMax > 65535 || o.PortMin > o.PortMax {
		return fmt.Errorf("port-min and port-max must be a range of ports such as %d and %d (both 0: SSH off), not %d-%d",
			DefaultSSHPortMin, DefaultSSHPortMax, o.PortMin, o.PortMax)
	}
	return nil
}
