package helper

import (
	"os"
	"os/signal"
)

// absorbSignals makes this process survive the signals of pid1Signals
// (fatalSignals) that another process of its uid sends it. As a
// container's PID 1 the kernel delivers it only the signals it handles,
// and Go's runtime handles every one, then exits 2 for these when nobody
// asked for them: a grader's (or a student's program's) `kill -HUP 1`
// ended the job as a crash without a result, and a student's `kill -SEGV
// 1` in an ssh_student session ended the student helper before it wrote
// the hidden scripts back and ran the teardown script. The signals go to
// a channel nobody reads (Notify never blocks: the ones it cannot buffer
// are dropped), so that the runtime counts them as wanted; the commands
// the helper starts get the default dispositions back when they exec, as
// with any signal Go handles (not so with signal.Ignore, which they would
// inherit).
func absorbSignals() {
	signal.Notify(make(chan os.Signal, 1), fatalSignals...)
}
