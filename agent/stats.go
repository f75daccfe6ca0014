package agent

import "sync/atomic"

// Stats counts what an agent did since it was made. The counters only grow;
// Running and PendingResults are the current values.
type Stats struct {
	Hellos uint64 // AgentHello sent
	Pings  uint64 // Ping sent
	Pongs  uint64 // Pong received
	// Unknowns counts Unknown received: the backend had lost the agent.
	Unknowns uint64
	// HelloRefused counts Error answers to a hello (e.g. protocol version).
	HelloRefused uint64
	// OtherSession counts messages for another process with this agent id,
	// dropped; Conflicts, refusals of this one because another is live.
	OtherSession uint64
	Conflicts    uint64

	JobsReceived  uint64 // well-formed BackendNewJob
	JobsDuplicate uint64 // BackendNewJob for an attempt already known
	// JobsOverCommit counts jobs refused because every slot was busy: the
	// backend over-committed the agent.
	JobsOverCommit uint64
	// JobsRefused counts jobs refused because the agent was shutting down.
	JobsRefused uint64
	// Refusals counts attempts handed back to the backend (AgentJobRefused)
	// for any reason: busy slots, shutting down, a missing environment or
	// task files, memory. They are not results.
	Refusals uint64
	Kills    uint64 // BackendKillJob for a running attempt
	// KillsUnknown counts kills of attempts the agent never saw, answered
	// with a killed result.
	KillsUnknown uint64
	// KillsIgnored counts kills of attempts already finished.
	KillsIgnored uint64

	Results        uint64 // results produced: exactly one per attempt
	ResultsResent  uint64 // extra sends of a result
	ResultsAcked   uint64 // results answered by Ack
	ResultsRefused uint64 // results answered by Error: forgotten
	// ResultsReplaced counts results that could not be sent as they were
	// (too large, unencodable) and were replaced by an error or crash.
	ResultsReplaced uint64

	// Malformed counts messages that could not be decoded, or with invalid
	// fields; Unexpected, decodable messages that make no sense here.
	Malformed  uint64
	Unexpected uint64
	// BackendErrors counts every Error received.
	BackendErrors uint64
	// NoResponders counts NATS' bounces of our messages while nobody
	// listened on the backend subject (the backend is down).
	NoResponders uint64
	// SendErrors counts publications that failed (they are retried where
	// it matters: results and hellos).
	SendErrors uint64

	Slots          int // job slots (Config.Slots)
	Running        int // attempts running now
	PendingResults int // results sent and not yet answered
	// MemoryInUse is the sum, in MiB, of the memory limits of the attempts
	// admitted now (see Config.Memory).
	MemoryInUse int64
}

// counters are the atomic twins of Stats' counters.
type counters struct {
	hellos, pings, pongs, unknowns, helloRefused, otherSession, conflicts atomic.Uint64
	jobsReceived, jobsDuplicate, jobsOverCommit, jobsRefused, refusals    atomic.Uint64
	kills, killsUnknown, killsIgnored                                     atomic.Uint64
	results, resultsResent, resultsAcked, resultsRefused, resultsReplaced atomic.Uint64
	malformed, unexpected, backendErrors, sendErrors, noResponders        atomic.Uint64
	memoryInUse                                                           atomic.Int64
}

// Stats returns a snapshot of the agent's counters.
func (a *Agent) Stats() Stats {
	c := &a.stats
	s := Stats{
		Hellos: c.hellos.Load(), Pings: c.pings.Load(), Pongs: c.pongs.Load(),
		Unknowns: c.unknowns.Load(), HelloRefused: c.helloRefused.Load(), OtherSession: c.otherSession.Load(), Conflicts: c.conflicts.Load(),
		JobsReceived: c.jobsReceived.Load(), JobsDuplicate: c.jobsDuplicate.Load(),
		JobsOverCommit: c.jobsOverCommit.Load(), JobsRefused: c.jobsRefused.Load(), Refusals: c.refusals.Load(),
		Kills: c.kills.Load(), KillsUnknown: c.killsUnknown.Load(), KillsIgnored: c.killsIgnored.Load(),
		Results: c.results.Load(), ResultsResent: c.resultsResent.Load(), ResultsAcked: c.resultsAcked.Load(),
		ResultsRefused: c.resultsRefused.Load(), ResultsReplaced: c.resultsReplaced.Load(),
		Malformed: c.malformed.Load(), Unexpected: c.unexpected.Load(),
		BackendErrors: c.backendErrors.Load(), SendErrors: c.sendErrors.Load(),
		NoResponders: c.noResponders.Load(), MemoryInUse: c.memoryInUse.Load(),
	}
	a.mu.Lock()
	s.Slots = a.cfg.Slots
	s.Running = len(a.attempts)
	s.PendingResults = len(a.results)
	a.mu.Unlock()
	return s
}
