package backend

import "sync/atomic"

// counters are read by Stats from any goroutine.
type counters struct {
	malformed, badSender, unexpected, staleAttempts, sendErrors, journalErrors atomic.Int64
	// refused counts requests for what the sender may not touch: another
	// frontend's job, an attempt given to another agent.
	refused atomic.Int64
	// throttled counts queue requests and agent hellos past their sender's share (throttle.go).
	throttled                                                   atomic.Int64
	submitted, finished, requeued, agentsLost, duplicateResults atomic.Int64
	resultsAcked, resultsResent, resultsExpired                 atomic.Int64
	spilled, loaded, loadErrors                                 atomic.Int64
	batchesReceived, batchesSent                                atomic.Int64
}

// Stats are the backend's counters since it started.
type Stats struct {
	Malformed, BadSender, Unexpected, StaleAttempts, SendErrors, JournalErrors int64
	// Refused counts requests about what the sender may not touch.
	Refused int64
	// Throttled counts queue snapshot requests and agent hellos refused past their
	// sender's share of the event loop (throttle.go).
	Throttled                                 int64
	Submitted, Finished, Requeued, AgentsLost int64
	// DuplicateResults counts results sent again for the attempt that had
	// already finished the job (acked again, not refused).
	DuplicateResults int64
	// ResultsAcked, ResultsResent and ResultsExpired follow the delivery of
	// results: acknowledged by their client, sent again (after a lost
	// message, a client restart or a backend restart), and dropped after
	// ResultRetention without an ack.
	ResultsAcked, ResultsResent, ResultsExpired int64
	// DescriptionsSpilled, DescriptionsLoaded and DescriptionLoadErrors
	// follow the descriptions left in the journal beyond
	// Config.QueueMemoryJobs (spill.go): dropped from memory, read back at
	// dispatch, and reads that failed (the job then waits and is tried
	// again).
	DescriptionsSpilled, DescriptionsLoaded, DescriptionLoadErrors int64
	// BatchesReceived and BatchesSent count the NATS messages that carried
	// several of ours together (messages.Batch).
	BatchesReceived, BatchesSent int64
}

// Stats returns the counters; safe from any goroutine.
func (b *Backend) Stats() Stats {
	c := &b.stats
	return Stats{
		Malformed: c.malformed.Load(), BadSender: c.badSender.Load(), Refused: c.refused.Load(), Throttled: c.throttled.Load(), Unexpected: c.unexpected.Load(),
		StaleAttempts: c.staleAttempts.Load(), SendErrors: c.sendErrors.Load(), JournalErrors: c.journalErrors.Load(),
		Submitted: c.submitted.Load(), Finished: c.finished.Load(), Requeued: c.requeued.Load(), AgentsLost: c.agentsLost.Load(),
		DuplicateResults: c.duplicateResults.Load(),
		ResultsAcked:     c.resultsAcked.Load(), ResultsResent: c.resultsResent.Load(), ResultsExpired: c.resultsExpired.Load(),
		DescriptionsSpilled: c.spilled.Load(), DescriptionsLoaded: c.loaded.Load(), DescriptionLoadErrors: c.loadErrors.Load(),
		BatchesReceived: c.batchesReceived.Load(), BatchesSent: c.batchesSent.Load(),
	}
}
