package agent

import "time"

// runnerIdle is how long a runner waits for its next attempt before it
// ends.
const runnerIdle = 5 * time.Second

// startAttempt runs at on a runner waiting for one, or on a new runner.
//
// Why runners rather than a goroutine per attempt: an attempt's goroutine
// grows its stack as the attempt runs (the runtime's calls, the result's
// encoding), and a fresh goroutine copied its stack twice for every job:
// 15% of a noop agent's CPU per job at a deadline's rate (tests/bench,
// TestProcessReport). A runner keeps its grown stack for the next attempt
// (until a collection finds it idle and shrinks it).
func (a *Agent) startAttempt(at *attempt) {
	select {
	case a.idle <- at:
	default:
		a.runners.Add(1)
		go a.runner(at)
	}
}

// runner runs at, then each attempt handed to it, until it waited
// runnerIdle for one or the agent's attempts are over (jobsCtx, ended by
// the shutdown once it no longer starts attempts). Run waits for it: every
// runners.Add comes before the attempt it runs is done, and the shutdown
// waits for every attempt.
func (a *Agent) runner(at *attempt) {
	defer a.runners.Done()
	idle := time.NewTimer(runnerIdle)
	defer idle.Stop()
	for {
		a.runAttempt(at)
		idle.Reset(runnerIdle)
		select {
		case at = <-a.idle:
		case <-idle.C:
			return
		case <-a.jobsCtx.Done():
			return
		}
	}
}
