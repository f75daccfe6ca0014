package helper

import (
	"runtime"
	"sync"
)

// reserveThreads has the Go runtime start threads now, while the
// container's process limit leaves room, and keep them idle for later.
//
// The grader shares that limit (pids.max counts threads) with this helper.
// A fork bomb that reaches it left the runtime no thread to start when a
// goroutine blocked in a system call (a process's wait, a file's read), and
// a thread the runtime cannot start is fatal ("failed to create new OS
// thread"): the container then ended without a result, a crash instead of
// the timeout the limits make (CI, TestRun_ForkBombContained). The runtime
// never ends an idle thread, so the ones started here serve until the
// helper exits.
func reserveThreads(root string) {
	n := threadsToReserve(pidsMax(root))
	var ready, done sync.WaitGroup
	release := make(chan struct{})
	ready.Add(n)
	for range n {
		done.Go(func() {
			// A goroutine locked to its thread and waiting holds that
			// thread: the runtime starts another for the rest.
			runtime.LockOSThread()
			ready.Done()
			<-release
			runtime.UnlockOSThread() // exiting unlocked keeps the thread
		})
	}
	ready.Wait()
	close(release)
	done.Wait()
}

// threadsToReserve is 16 threads, or a quarter of a smaller limit (a
// task that allows 16 processes keeps 12 for itself).
func threadsToReserve(max int) int {
	if max <= 0 {
		return 16
	}
	return min(16, max/4)
}
