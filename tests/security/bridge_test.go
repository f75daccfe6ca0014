package security

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ingo-grader/ingo/messages"
)

// Attacks on the INGInious bridge's ZeroMQ port: frame sizes that a
// ZeroMQ library would allocate before reading them.

// zmtpGreeting is a ZMTP 3.0 greeting: signature, version 3.0, mechanism
// NULL, as-server 0, filler.
func zmtpGreeting() []byte {
	g := make([]byte, 64)
	g[0], g[9], g[10], g[11] = 0xff, 0x7f, 3, 0
	copy(g[12:32], "NULL")
	return g
}

// zmtpReady is a READY command of a DEALER socket, as INGInious' webapp
// sends after the greeting.
func zmtpReady() []byte {
	body := []byte("\x05READY\x0bSocket-Type")
	body = binary.BigEndian.AppendUint32(body, uint32(len("DEALER")))
	body = append(body, "DEALER"...)
	return append([]byte{0x04, byte(len(body))}, body...)
}

// longFrame is the header of a data frame of size bytes (flags 0x02: an
// 8-byte big-endian size follows).
func longFrame(size uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{0x02}, size)
}

// closeReason reads the reason of the bridge's log line about a
// connection it closed.
var closeReason = regexp.MustCompile(`reason=(\S+)`)

// attackBridge (8): announcing huge frames neither crashes ingo up nor
// makes it allocate them, and the bridge keeps serving webapps.
func attackBridge(t *testing.T, s *suite) {
	pid := s.a.proc.Pid()
	for _, row := range []struct {
		name, size string
		n          uint64
		ready      bool
	}{
		{"2^62", "2^62 bytes", 1 << 62, false},
		{"64GiB", "64 GiB", 64 << 30, false},
		{"2^62-after-READY", "2^62 bytes", 1 << 62, true},
	} {
		what := "raw TCP to the bridge: ZMTP 3 NULL greeting"
		if row.ready {
			what += ", READY of a DEALER"
		}
		what += ", then a frame header announcing " + row.size
		attack(t, row.name, what, func(t *testing.T, r *record) {
			before, err := rss(pid)
			if err != nil {
				t.Fatal(err)
			}
			conn, err := net.DialTimeout("tcp", s.a.zmqAddr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			msg := zmtpGreeting()
			if row.ready {
				msg = append(msg, zmtpReady()...)
			}
			msg = append(msg, longFrame(row.n)...)
			// Then the start of the body, as a peer streaming it would.
			msg = append(msg, make([]byte, 64<<10)...)
			_, werr := conn.Write(msg)
			_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
			n, rerr := io.Copy(io.Discard, conn)
			var ne net.Error
			switch {
			case rerr == nil, errors.Is(rerr, syscall.ECONNRESET), errors.Is(werr, syscall.ECONNRESET), errors.Is(werr, syscall.EPIPE):
				how := "closed"
				if rerr != nil || werr != nil {
					how = "reset" // it closed with our bytes unread
				}
				reason := "?"
				if m := closeReason.FindStringSubmatch(s.a.waitLog(5*time.Second, "INGInious connection closed", conn.LocalAddr().String())); m != nil {
					reason = m[1]
				}
				r.add("the bridge %s the connection after its own %d bytes (logged reason=%s)", how, n, reason)
			case errors.As(rerr, &ne) && ne.Timeout():
				r.add("the connection stays open after 15 s")
			default:
				r.add("the connection ended: %s (our write: %v)", short(rerr), werr)
			}
			if err := s.a.alive(); err != nil {
				r.add("INGO UP DOWN: %v", err)
				t.Fatal(err)
			}
			after, err := rss(pid)
			if err != nil {
				t.Fatal(err)
			}
			r.add("ingo up alive, /healthz 200, RSS %s -> %s", mib(before), mib(after))
			if after-before > rssBound {
				t.Errorf("RSS grew by %s, over %s", mib(after-before), mib(rssBound))
			}
		})
	}
	attack(t, "still-serves", "after those, an INGInious webapp's job through the bridge", func(t *testing.T, r *record) {
		if err := exec.Command("/usr/bin/python3", "-c", "import zmq, msgpack").Run(); err != nil {
			// Without python3-zmq (.ci/run installs it), a job over NATS
			// still shows that the process serves.
			res := result(t, submit(t, s.alice, newJob("after-bridge-"+uuid.NewString()[:8], s.sleeperTask(t, 0))))
			r.add("no python3 zmq/msgpack here (%v); a job over NATS ended %s", err, res.Result.Status)
			if res.Result.Status != messages.StatusSuccess {
				t.Errorf("job after the bridge attacks: %s %q", res.Result.Status, res.Result.Text)
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), jobWait)
		defer cancel()
		cmd := exec.CommandContext(ctx, "/usr/bin/python3", filepath.Join(repoRoot(), "examples", "inginious-client.py"),
			"tcp://"+s.a.zmqAddr, "demo", "hello", "name=Bridge")
		out, err := cmd.CombinedOutput()
		ok := err == nil && strings.Contains(string(out), "Hello, Bridge!")
		r.add("examples/inginious-client.py: exit %v, feedback %q found: %v", exitCode(err), "Hello, Bridge!", ok)
		if !ok {
			t.Errorf("inginious-client.py: %v\n%s", err, out)
		}
	})
}

func exitCode(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "0"
	case errors.As(err, &ee):
		return fmt.Sprint(ee.ExitCode())
	default:
		return err.Error()
	}
}

// rss is the resident memory of process pid, in bytes (VmRSS).
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err != nil {
				return 0, fmt.Errorf("VmRSS %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

func mib(n int64) string { return fmt.Sprintf("%d MiB", n>>20) }
