package history

import (
	"sync"
	"time"
)

// stashAge: a batch's entries not taken by then are dropped (its
// summaries never reached the feed: the store failed, or the retention
// took them first); the feed then reads them from the stream, as any
// other process does.
const stashAge = time.Minute

// stash holds, from its publish until the feed reads its summaries, what
// the index will keep of each batch this process writes: the feed takes
// them instead of decoding what the writer just encoded.
type stash struct {
	mu      sync.Mutex
	batches map[string]stashed
}

type stashed struct {
	entries []entry
	at      time.Time
}

func (s *stash) put(id string, es []entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.batches == nil {
		s.batches = map[string]stashed{}
	}
	s.batches[id] = stashed{entries: es, at: time.Now()}
}

// take removes and returns the entries of batch id; nil if none.
func (s *stash) take(id string) []entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.batches[id]
	if !ok {
		return nil
	}
	delete(s.batches, id)
	return b.entries
}

// expire drops the batches stashed before stashAge ago.
func (s *stash) expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, b := range s.batches {
		if time.Since(b.at) > stashAge {
			delete(s.batches, id)
		}
	}
}
