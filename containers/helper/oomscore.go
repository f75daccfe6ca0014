package helper

import (
	"os"
	"strconv"
	"strings"
	"sync"
)

// commandOOMScoreAdj is the oom_score_adj the helper gives the commands it
// starts (the run file, a student's command, ssh_student's scripts, SSH
// shells), its own staying at what it was given (0): when a container's
// memory is full, the OOM killer takes them before the helper, which is
// left to report. Without it the helper, a Go program of some megabytes,
// was the largest process whenever the memory was files (tmpfs pages count
// to no process): the container then stopped without a result, and only
// the daemon's word, which may come seconds after the exit, told an
// overflow; a student container's 252 could not be told at all without it.
// Raising a score needs no privilege, nor does lowering it back to where
// a privileged writer (the container's runtime) left it; the children of
// the commands inherit it. It is a preference, not a bound: a command may
// lower its own score back to 0, and then the runtime's late wait for the
// daemon's word (containers/docker) still tells the overflow.
const commandOOMScoreAdj = 500

// ownOOMScore is the helper's own oom_score_adj, opened by keepOwnOOMScore
// before the helper makes itself non-dumpable: a non-dumpable process's
// /proc files belong to root, so the helper (not root, without
// capabilities) could no longer open it, where a file opened before stays
// writable (the kernel checks the opener, not each write). Its mutex makes
// the raise, start and lower of startAsOOMVictim one step: two starts at
// once must not lower the score under each other.
var ownOOMScore struct {
	mu     sync.Mutex
	f      *os.File // nil: not opened, the commands start with the helper's score
	was    []byte   // the helper's own, written back after each start
	raised []byte   // what the commands start with
}

// keepOwnOOMScore opens the helper's own oom_score_adj for
// startAsOOMVictim; called once, before notDumpable. Best effort: without
// /proc, the commands keep the helper's score.
func keepOwnOOMScore(root string) {
	ownOOMScore.mu.Lock()
	defer ownOOMScore.mu.Unlock()
	if ownOOMScore.f != nil {
		return
	}
	f, err := os.OpenFile(root+"/proc/self/oom_score_adj", os.O_RDWR, 0) // close-on-exec
	if err != nil {
		return
	}
	b := make([]byte, 16)
	n, err := f.Read(b)
	if err != nil || n == 0 {
		_ = f.Close()
		return
	}
	was := strings.TrimSpace(string(b[:n]))
	// Never lower than the helper's own: a container started with a
	// higher score keeps it for its commands, and the helper stays the
	// less preferred.
	raised := commandOOMScoreAdj
	if n, err := strconv.Atoi(was); err == nil && n > raised {
		raised = n
	}
	ownOOMScore.f, ownOOMScore.was, ownOOMScore.raised = f, []byte(was), []byte(strconv.Itoa(raised))
}

// startAsOOMVictim calls start, which forks a command, with the helper's
// own oom_score_adj raised to commandOOMScoreAdj (or kept, when higher),
// and lowers it back after:
// the command has the raised score from its first instruction, and so has
// whatever it forks. Raising the child's score after the fork raced with
// the command (a shell that forked its own command before the write, on a
// loaded machine, left that one at 0, smaller than the helper, which the
// OOM killer then took), and a non-dumpable helper's children cannot be
// written before their exec. While start runs (the fork and exec) the
// helper is a preferred victim too.
func startAsOOMVictim(start func() error) error {
	ownOOMScore.mu.Lock()
	defer ownOOMScore.mu.Unlock()
	f := ownOOMScore.f
	if f == nil {
		return start()
	}
	if _, err := f.Write(ownOOMScore.raised); err != nil {
		return start()
	}
	defer func() { _, _ = f.Write(ownOOMScore.was) }()
	return start()
}
