package docker

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/channel"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// TestSSHRelay_AllPortsTaken: an SSH-debug job whose agent has every
// SSH port taken (by other sessions: one frontend submitting many held
// them all) is told so at once, with a reason naming the range and its
// settings, which the helper makes the job's crash text ("[SSH Debug]
// The SSH server could not start: ..."): the relay neither waits for a
// port nor takes one, so the job ends and frees its slot. A port freed
// is taken by the next session. No container: the helper's side is the
// other end of a pipe.
func TestSSHRelay_AllPortsTaken(t *testing.T) {
	base := testutil.FreePorts(t, 2)
	r := &Runtime{opts: Options{SSH: SSHOptions{Listen: "127.0.0.1", PortMin: base, PortMax: base + 1}}, log: slog.New(slog.DiscardHandler)}
	r.ports = newPortPool(r.opts.SSH)
	var held []net.Listener
	var heldPorts []int
	for range 2 {
		ln, port, err := r.ports.listen()
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, ln)
		heldPorts = append(heldPorts, port)
	}
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()

	readies := 0 // credentials handed on; read once the relay ended
	// relay runs one session's relay and returns the agent's answer and
	// whether the relay ended.
	relay := func() (channel.Event, <-chan struct{}, func()) {
		t.Helper()
		agentSide, helperSide := net.Pipe()
		ctx, cancel := context.WithCancel(t.Context())
		ended := make(chan struct{})
		go func() {
			defer close(ended)
			r.sshRelay(ctx, agentSide, channel.Header{Kind: channel.KindSSHDebug, User: "worker", Password: "pw"}, nil,
				func(int) error { readies++; return nil })
		}()
		ev, err := channel.NewLines[channel.Event](helperSide).Next()
		if err != nil {
			t.Fatalf("the agent's answer: %v", err)
		}
		return ev, ended, func() { cancel(); helperSide.Close(); <-ended }
	}

	ev, ended, stop := relay()
	if ev.Event != channel.EventExit || ev.Code != channel.CodeLaunch ||
		!strings.Contains(ev.Reason, "agent.ssh.port-min") || !strings.Contains(ev.Reason, "2 ports") {
		t.Fatalf("with every port taken: %+v, want an exit naming the range and its settings", ev)
	}
	select {
	case <-ended:
	case <-time.After(10 * time.Second): // a failure bound only
		t.Fatal("the relay waits for a port")
	}
	stop()
	if readies != 0 {
		t.Errorf("credentials handed on %d times without a port", readies)
	}
	r.ports.mu.Lock()
	if len(r.ports.used) != 2 {
		t.Errorf("ports taken %v, want the two held only", r.ports.used)
	}
	r.ports.mu.Unlock()

	held[0].Close()
	r.ports.release(heldPorts[0])
	held = held[1:]
	ev, _, stop = relay()
	if ev.Event != channel.EventListening || ev.Port != heldPorts[0] {
		t.Fatalf("with port %d freed: %+v, want it listening there", heldPorts[0], ev)
	}
	stop()
	r.ports.mu.Lock()
	defer r.ports.mu.Unlock()
	if len(r.ports.used) != 1 {
		t.Errorf("ports taken after the session ended: %v, want the one still held", r.ports.used)
	}
}

// TestPlan_SSHDebugWithoutAFreePortGoesBack: an SSH-debug job that comes
// while this agent's sessions hold every SSH port is handed back before
// any container is made (a Failure with Requeue, naming the range and
// its settings): the backend tries another agent, or this one later,
// within its attempts. Before, it started a container that ended at
// once as crash. Other jobs, docker-ssh ones too (ssh_student may never
// be called), are planned as before.
func TestPlan_SSHDebugWithoutAFreePortGoesBack(t *testing.T) {
	tests := []struct {
		name    string
		envType string
		debug   messages.DebugMode
		full    bool
		back    bool // handed back
	}{
		{"ssh debug, a port free", "docker", messages.DebugSSH, false, false},
		{"ssh debug, every port held", "docker", messages.DebugSSH, true, true},
		{"ssh debug on docker-ssh, every port held", EnvTypeSSH, messages.DebugSSH, true, true},
		{"an ordinary job, every port held", "docker", messages.DebugOff, true, false},
		{"a debug job, every port held", "docker", messages.DebugOn, true, false},
		{"a docker-ssh job, every port held", EnvTypeSSH, messages.DebugOff, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := testutil.FreePorts(t, 2)
			r := &Runtime{opts: Options{SSH: SSHOptions{Listen: "127.0.0.1", PortMin: base, PortMax: base + 1,
				LoginTimeout: time.Minute, MaxSession: time.Minute}}, log: slog.New(slog.DiscardHandler)}
			r.ports = newPortPool(r.opts.SSH)
			// The images as listed: plan needs no daemon.
			r.envCache = map[string]map[string]messages.EnvironmentInfo{EnvType: {"default": {ID: "sha256:img"}}}
			if tc.full {
				for range 2 {
					ln, _, err := r.ports.listen()
					if err != nil {
						t.Fatal(err)
					}
					defer ln.Close()
				}
			}
			job := newJob(r, nil, nil)
			job.Desc.EnvironmentType, job.Desc.Debug = tc.envType, tc.debug
			_, err := r.plan(t.Context(), job, nil)
			var f *containers.Failure
			back := errors.As(err, &f) && f.Requeue
			if back != tc.back {
				t.Fatalf("plan: %v (handed back: %v), want handed back: %v", err, back, tc.back)
			}
			if !tc.back && err != nil {
				t.Fatalf("plan: %v", err)
			}
			if back && (!strings.Contains(f.Public, "[SSH Debug]") || !strings.Contains(f.Public, "agent.ssh.port-min") || !strings.Contains(f.Public, "all 2 SSH ports")) {
				t.Errorf("the text %q does not name the ports and their settings", f.Public)
			}
		})
	}
}
