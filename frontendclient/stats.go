package frontendclient

import (
	"sync/atomic"
	"time"
)

// Stats are a Client's counters since New.
type Stats struct {
	// Malformed counts messages on our subject that could not be decoded.
	Malformed int64
	// Unexpected counts well-formed messages that are not for a client
	// (an agent message, say).
	Unexpected int64
	// DuplicateResults counts results dropped because the job already had
	// one; UnknownResults those for jobs this client does not follow.
	DuplicateResults int64
	UnknownResults   int64
	// DroppedEvents counts progress events dropped because the application
	// did not read Job.Events.
	DroppedEvents int64
	// NoResponders counts our messages NATS bounced because no backend
	// was subscribed: it was down or restarting.
	NoResponders int64
	// Hellos counts ClientHello sent (1 + re-hellos after Unknown or a
	// reconnect); Resubmissions counts ClientNewJob sent again.
	Hellos        int64
	Resubmissions int64
	// BundlesUploaded counts task bundles this client put in the store
	// (those already there are not uploaded again).
	BundlesUploaded int64
	// BundlesReused counts task folders not packed again: their stamp
	// was that of their last packing, whose bundle is in the store.
	BundlesReused int64
	// OrphanResults counts arrivals of results of jobs an earlier process
	// with this ClientID submitted (not yet stored); HandlerErrors the times
	// OnResult returned an error (the result comes again later).
	OrphanResults int64
	HandlerErrors int64
	// SendErrors counts messages for the backend that NATS would not take
	// (the connection closed, its reconnect buffer full); submissions
	// among them are sent again after the next answered ping.
	SendErrors int64
	// LastPong is when the backend last answered a ping (zero: never).
	LastPong time.Time
}

type counters struct {
	malformed, unexpected, duplicateResults, unknownResults              atomic.Int64
	droppedEvents, hellos, resubmissions, bundlesUploaded, bundlesReused atomic.Int64
	noResponders, orphanResults, handlerErrors                           atomic.Int64
	sendErrors                                                           atomic.Int64
	lastPong                                                             atomic.Int64 // Unix ns
}

// Stats returns the counters; safe from any goroutine.
func (c *Client) Stats() Stats {
	s := &c.stats
	st := Stats{
		Malformed: s.malformed.Load(), Unexpected: s.unexpected.Load(),
		DuplicateResults: s.duplicateResults.Load(), UnknownResults: s.unknownResults.Load(),
		DroppedEvents: s.droppedEvents.Load(), Hellos: s.hellos.Load(),
		Resubmissions: s.resubmissions.Load(), BundlesUploaded: s.bundlesUploaded.Load(), BundlesReused: s.bundlesReused.Load(),
		NoResponders:  s.noResponders.Load(),
		OrphanResults: s.orphanResults.Load(), HandlerErrors: s.handlerErrors.Load(),
		SendErrors: s.sendErrors.Load(),
	}
	if ns := s.lastPong.Load(); ns != 0 {
		st.LastPong = time.Unix(0, ns)
	}
	return st
}
