package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Real processes, for tests that kill with SIGKILL: a goroutine cannot die
// the way a process (or the machine under it) does, without shutdown,
// deferred calls or a last message.

// repoRoot is the module's root, found from this file's place in it.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// binaries are built once per test binary, into a directory of its own
// (the Go build cache makes the next build cheap), which the next test
// binary to make one removes (BinaryDir).
var (
	binDirOnce sync.Once
	binDir     string
	binDirErr  error

	ingoOnce sync.Once
	ingoPath string
	ingoErr  error

	natsOnce sync.Once
	natsPath string
	natsErr  error
)

func binaryDir() (string, error) {
	binDirOnce.Do(func() {
		binDir, binDirErr = BinaryDir("ingo-test-bin-")
	})
	return binDir, binDirErr
}

// goBuild runs `go build -o dir/name pkg` in the repository root, so that
// go.mod pins the versions.
func goBuild(name, pkg string) (string, error) {
	dir, err := binaryDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = repoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return out, nil
}

// IngoBinary builds ./cmd/ingo once per test binary and returns its path.
// A failed build fails the test.
func IngoBinary(t testing.TB) string {
	t.Helper()
	ingoOnce.Do(func() { ingoPath, ingoErr = goBuild("ingo", "./cmd/ingo") })
	if ingoErr != nil {
		t.Fatalf("build ingo: %v", ingoErr)
	}
	return ingoPath
}

// NATSServerBinary builds the real nats-server, at the version go.mod
// requires, once per test binary and returns its path. When it cannot be
// built (no module source offline, say) the test is skipped with the
// reason.
func NATSServerBinary(t testing.TB) string {
	t.Helper()
	natsOnce.Do(func() { natsPath, natsErr = goBuild("nats-server", "github.com/nats-io/nats-server/v2") })
	if natsErr != nil {
		t.Skipf("cannot build the nats-server binary from the module in go.mod, so no real NATS processes: %v", natsErr)
	}
	return natsPath
}

// maxOutput bounds what a Process keeps of its output: the last 2 MiB.
const maxOutput = 2 << 20

// Process is a program run by a test, killed (SIGKILL) when the test ends.
// Its stdout and stderr, across restarts, are kept (the last 2 MiB) and
// written to the test log if the test failed. Its methods are safe from
// any goroutine.
type Process struct {
	t    testing.TB
	name string
	bin  string
	env  []string
	args []string

	out *boundedBuffer

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed once cmd has been waited for
	waitErr error         // cmd.Wait's answer, set before done is closed
}

// StartProcess starts bin with args, with env (KEY=VALUE) added to this
// process's environment. name labels its output in the test log.
func StartProcess(t testing.TB, name, bin string, env []string, args ...string) *Process {
	t.Helper()
	p := &Process{t: t, name: name, bin: bin, env: env, args: args, out: &boundedBuffer{max: maxOutput}}
	if err := p.start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("output of %s (%s %v):\n%s", p.name, p.bin, p.args, p.Output())
		}
	})
	return p
}

// start runs the command once more; the previous run must have ended.
func (p *Process) start() error {
	p.mu.Lock()
	cmd := exec.Command(p.bin, p.args...)
	p.mu.Unlock()
	cmd.Env = append(os.Environ(), p.env...)
	// A test binary killed by go test's timeout runs no cleanup: the
	// kernel kills the process then, rather than leave it running.
	dieWithParent(cmd)
	cmd.Stdout, cmd.Stderr = teeCapture(p.out), teeCapture(p.out)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.waitErr = cmd, done, nil
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		status := "exited"
		if err != nil {
			status = err.Error()
		}
		fmt.Fprintf(p.out, "--- %s (pid %d): %s\n", p.name, cmd.Process.Pid, status)
		p.mu.Lock()
		if p.cmd == cmd {
			p.waitErr = err
		}
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// current returns the running command and its done channel.
func (p *Process) current() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd, p.done
}

// Name is the label given to StartProcess.
func (p *Process) Name() string { return p.name }

// Pid is the process id of the current run.
func (p *Process) Pid() int {
	cmd, _ := p.current()
	return cmd.Process.Pid
}

// Kill sends SIGKILL, as when the machine dies: no shutdown, no cleanup.
// It returns once the process is gone. Idempotent.
func (p *Process) Kill() {
	cmd, done := p.current()
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Kill()
	<-done
}

// Stop asks the process to end (SIGTERM) and waits up to timeout, then
// kills it. It returns the process's exit error (nil for status 0) if it
// ended in time, and an error saying it was killed otherwise.
func (p *Process) Stop(timeout time.Duration) error {
	cmd, done := p.current()
	select {
	case <-done:
	default:
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(timeout):
			p.Kill()
			return fmt.Errorf("%s did not stop within %v after SIGTERM and was killed", p.name, timeout)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// Restart starts the same command again, with the same arguments and
// environment. A process still running is killed first.
func (p *Process) Restart() {
	p.t.Helper()
	p.Kill()
	fmt.Fprintf(p.out, "--- %s: restart\n", p.name)
	if err := p.start(); err != nil {
		p.t.Fatalf("restart %s: %v", p.name, err)
	}
}

// RestartWith is Restart with another program (another build of the
// same command), which later restarts keep.
func (p *Process) RestartWith(bin string) {
	p.t.Helper()
	p.mu.Lock()
	p.bin = bin
	p.mu.Unlock()
	p.Restart()
}

// Exited reports whether the current run has ended.
func (p *Process) Exited() bool {
	_, done := p.current()
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// Done is closed when the current run ends.
func (p *Process) Done() <-chan struct{} {
	_, done := p.current()
	return done
}

// Err is the current run's exit error once Exited (nil for status 0 or
// while it runs).
func (p *Process) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// Output is what the process wrote to stdout and stderr so far, over all
// its runs (the last 2 MiB).
func (p *Process) Output() string { return p.out.String() }

// boundedBuffer keeps the last max bytes written to it.
type boundedBuffer struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int64
}

func (b *boundedBuffer) Write(data []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, data...)
	// Trim by a quarter more than needed, so that a stream of small
	// writes does not move the buffer every time.
	if len(b.buf) > b.max+b.max/4 {
		cut := len(b.buf) - b.max
		b.dropped += int64(cut)
		b.buf = append(b.buf[:0], b.buf[cut:]...)
	}
	return len(data), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	data := b.buf
	dropped := b.dropped
	if len(data) > b.max {
		dropped += int64(len(data) - b.max)
		data = data[len(data)-b.max:]
	}
	if dropped > 0 {
		return fmt.Sprintf("[... %d earlier bytes dropped]\n%s", dropped, data)
	}
	return string(data)
}
