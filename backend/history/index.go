package history

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/ingo-grader/ingo/messages"
)

// keyPosBits: an entry's key is its message's stream sequence shifted
// left by keyPosBits, plus 1 + its record's place in a batch (0 for a
// message of one record). Keys order entries as the stream does, and a
// page's cursor is a key.
const keyPosBits = 10

// where an entry's whole record is.
type place uint8

const (
	inBatch      place = iota // a frame of its batch's message
	inMessage                 // the message itself (one message per job)
	onJobSubject              // <prefix>.history.job.<id> (two messages per job)
)

// entry is what the index keeps of one record: what pages filter on,
// and where the record and its summary are. Not the summary itself: a
// million of them took 300 MB in every serving process, and a page reads
// the few messages that hold its summaries.
type entry struct {
	key      uint64
	stored   int64 // the message's time, Unix ms
	finished int64
	jobID    string
	clientID string
	courseID string
	status   messages.Status
	where    place
	batch    string // inBatch: the batch's id
}

func (e *entry) seq() uint64 { return e.key >> keyPosBits }
func (e *entry) pos() int    { return int(e.key&(1<<keyPosBits-1)) - 1 }

// chunkBits: the index keeps its entries in chunks of 1<<chunkBits, so
// that it grows without copying them (one doubled array cost the
// backend ~2 µs per job at a deadline) and frees them a chunk at a time
// as the retention removes records.
const chunkBits = 12

// index is the history's records in stream order, and the newest of
// each job by its id: what the feed (feed.go) read of the stream's
// summaries, kept in every backend process that serves the history.
// Entries are numbered in the order they were added; [first, next) are
// kept.
type index struct {
	mu     sync.RWMutex
	chunks [][]entry         // chunks[i] holds the entries numbered from (base+i)<<chunkBits
	base   uint64            // the number of chunks freed
	first  uint64            // the first entry kept
	next   uint64            // the next entry's number
	byJob  map[string]uint64 // job id: the number of its newest entry
	names  map[string]string // course and client ids, interned
	last   uint64            // the last stream sequence read
	moved  chan struct{}     // closed when last moves
}

func newIndex() *index {
	return &index{byJob: map[string]uint64{}, names: map[string]string{}, moved: make(chan struct{})}
}

// at is entry n, kept.
func (ix *index) at(n uint64) *entry {
	return &ix.chunks[n>>chunkBits-ix.base][n&(1<<chunkBits-1)]
}

// search is the first entry number in [first, next) for which f is
// true (next if none), f false then true along the entries.
func (ix *index) search(f func(*entry) bool) uint64 {
	return ix.first + uint64(sort.Search(int(ix.next-ix.first), func(i int) bool { return f(ix.at(ix.first + uint64(i))) }))
}

func (ix *index) intern(s string) string {
	if ix.next > ix.first { // most often, a deadline's course and frontend again
		if last := ix.at(ix.next - 1); s == last.courseID {
			return last.courseID
		} else if s == last.clientID {
			return last.clientID
		}
	}
	if v, ok := ix.names[s]; ok {
		return v
	}
	ix.names[s] = s
	return s
}

// add records that the stream's message seq was read, and holds es (in
// key order, all of seq). A message read twice is added once.
func (ix *index) add(seq uint64, es []entry) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if seq <= ix.last {
		return
	}
	for _, e := range es {
		e.clientID, e.courseID = ix.intern(e.clientID), ix.intern(e.courseID)
		if ix.next&(1<<chunkBits-1) == 0 {
			ix.chunks = append(ix.chunks, make([]entry, 1<<chunkBits))
		}
		*ix.at(ix.next) = e
		ix.byJob[e.jobID] = ix.next
		ix.next++
	}
	ix.last = seq
	close(ix.moved)
	ix.moved = make(chan struct{})
}

// readTo is the last stream sequence read.
func (ix *index) readTo() uint64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.last
}

// waitFor returns once the stream's message seq was read, or with ctx.
func (ix *index) waitFor(ctx context.Context, seq uint64) error {
	err := waitUntil(ctx, func() (bool, <-chan struct{}) {
		ix.mu.RLock()
		defer ix.mu.RUnlock()
		return ix.last >= seq, ix.moved
	})
	if err != nil {
		return fmt.Errorf("history: still reading the stream (at message %d of %d): %w", ix.readTo(), seq, err)
	}
	return nil
}

// trim drops the entries of messages before first, the stream's first
// sequence: gone with the retention or the size bound.
func (ix *index) trim(first uint64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	end := ix.search(func(e *entry) bool { return e.seq() >= first })
	for n := ix.first; n < end; n++ {
		e := ix.at(n)
		if ix.byJob[e.jobID] == n {
			delete(ix.byJob, e.jobID)
		}
		*e = entry{}
	}
	ix.first = end
	for len(ix.chunks) > 0 && (ix.base+1)<<chunkBits <= ix.first {
		ix.chunks[0] = nil
		ix.chunks = ix.chunks[1:]
		ix.base++
	}
}

// lookup is the newest entry of jobID.
func (ix *index) lookup(jobID string) (entry, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n, ok := ix.byJob[jobID]
	if !ok || n < ix.first {
		return entry{}, false
	}
	return *ix.at(n), true
}

// page is the entries of a page, newest first, and the cursor of the
// next page (0: none). Times bound the messages' store times first, as
// they grow with the stream, then the records' finish times.
func (ix *index) page(v Viewer, q *messages.ClientGetHistory, limit int) ([]entry, uint64) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	hi := ix.next
	if q.Cursor > 0 {
		hi = ix.search(func(e *entry) bool { return e.key >= q.Cursor })
	}
	if q.Until > 0 {
		hi = min(hi, ix.search(func(e *entry) bool { return e.stored >= q.Until }))
	}
	lo := ix.first
	if q.Since > 0 {
		lo = ix.search(func(e *entry) bool { return e.stored >= q.Since })
	}
	var out []entry
	for n := hi; n > lo; n-- {
		e := ix.at(n - 1)
		if !v.Admin && e.clientID != v.ClientID ||
			q.CourseID != "" && e.courseID != q.CourseID ||
			q.Status != "" && e.status != q.Status ||
			q.Since != 0 && e.finished < q.Since ||
			q.Until != 0 && e.finished >= q.Until ||
			ix.byJob[e.jobID] != n-1 { // stored again since
			continue
		}
		out = append(out, *e)
		if len(out) == limit {
			if n-1 > lo {
				return out, e.key
			}
			break
		}
	}
	return out, 0
}
