package helper

import (
	"os"
	"strconv"
)

// commandOOMScoreAdj is the oom_score_adj the helper gives the commands it
// starts (the run file, a student's command), its own staying 0: when a
// container's memory is full, the OOM killer takes them before the helper,
// which is left to report. Without it the helper, a Go program of some
// megabytes, was the largest process whenever the memory was files
// (tmpfs pages count to no process): the container then stopped without
// a result, and only the daemon's word, which may come seconds after the
// exit, told an overflow; a student container's 252 could not be told at
// all without it. Raising a score needs no privilege; the children of the
// commands inherit it. It is a preference, not a bound: a command may
// lower its own score back to 0, and then the runtime's late wait for the
// daemon's word (containers/docker) still tells the overflow.
const commandOOMScoreAdj = 500

// preferAsOOMVictim raises the oom_score_adj of pid, a command the helper
// has just started (what it forked before this write keeps the helper's).
// Best effort: without /proc, nothing changes.
func preferAsOOMVictim(root string, pid int) {
	_ = os.WriteFile(root+"/proc/"+strconv.Itoa(pid)+"/oom_score_adj", []byte(strconv.Itoa(commandOOMScoreAdj)), 0)
}
