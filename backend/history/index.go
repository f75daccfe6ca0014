package history

import (
	"context"
	"fmt"
	"hash/maphash"
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

// entry is what the index holds of one record: what pages filter on,
// and where the record and its summary are. Not the summary itself: a
// million of them took 300 MB in every serving process, and a page reads
// the few messages that hold its summaries. The feed hands entries in;
// lookups and pages hand copies out. Inside, the index keeps them as
// slots.
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

// slot is an entry as the index keeps it, without a pointer: its ids are
// spans of its chunk's text, its names numbers in the index's names. The
// garbage collector marks a chunk of slots at once instead of following
// four strings per record: with strings the index was most of what each
// collection of a backend at a deadline scanned (docs/PERFORMANCE.md).
type slot struct {
	key      uint64
	prevSame uint64 // the newest entry before it whose job id hashes alike, or noEntry
	stored   int64
	finished int64
	jobID    span
	batch    span
	client   uint32 // index.names
	course   uint32
	status   uint32
	where    place
}

// span is a string kept in a chunk's text.
type span struct{ off, len uint32 }

const noEntry = ^uint64(0)

// chunkBits: the index keeps its entries in chunks of 1<<chunkBits, so
// that it grows without copying them (one doubled array cost the
// backend ~2 µs per job at a deadline) and frees them a chunk at a time
// as the retention removes records.
const chunkBits = 12

// chunk is 1<<chunkBits slots and the text their spans point into.
type chunk struct {
	slots []slot
	text  []byte
}

func (c *chunk) put(s string) span {
	sp := span{uint32(len(c.text)), uint32(len(s))}
	c.text = append(c.text, s...)
	return sp
}

func (c *chunk) str(sp span) []byte { return c.text[sp.off : sp.off+sp.len] }

// index is the history's records in stream order, and the newest of
// each job by its id: what the feed (feed.go) read of the stream's
// summaries, kept in every backend process that serves the history.
// Entries are numbered in the order they were added; [first, next) are
// kept. A job's entries are found by its id's hash (byJob, then each
// slot's prevSame): the newest with that very id is the job's.
type index struct {
	mu      sync.RWMutex
	chunks  []chunk           // chunks[i] holds the entries numbered from (base+i)<<chunkBits
	base    uint64            // the number of chunks freed
	first   uint64            // the first entry kept
	next    uint64            // the next entry's number
	seed    maphash.Seed      // of the job ids' hashes
	byJob   map[uint64]uint64 // a job id's hash: the newest entry whose id has it
	names   []string          // course and client ids and statuses, by number
	nameIDs map[string]uint32 // and their numbers
	last    uint64            // the last stream sequence read
	moved   chan struct{}     // closed when last moves
	collide bool              // tests: every id hashes alike, so every lookup walks
}

func (ix *index) hash(id []byte) uint64 {
	if ix.collide {
		return 0
	}
	return maphash.Bytes(ix.seed, id)
}

func newIndex() *index {
	return &index{seed: maphash.MakeSeed(), byJob: map[uint64]uint64{}, nameIDs: map[string]uint32{}, moved: make(chan struct{})}
}

// at is entry n, kept, and its chunk.
func (ix *index) at(n uint64) (*slot, *chunk) {
	c := &ix.chunks[n>>chunkBits-ix.base]
	return &c.slots[n&(1<<chunkBits-1)], c
}

// search is the first entry number in [first, next) for which f is
// true (next if none), f false then true along the entries.
func (ix *index) search(f func(*slot) bool) uint64 {
	return ix.first + uint64(sort.Search(int(ix.next-ix.first), func(i int) bool {
		s, _ := ix.at(ix.first + uint64(i))
		return f(s)
	}))
}

// intern is name's number. Names are few (a deadline's courses, its
// frontends, the statuses), and kept for the process's life.
func (ix *index) intern(name string) uint32 {
	if n, ok := ix.nameIDs[name]; ok {
		return n
	}
	n := uint32(len(ix.names))
	ix.names = append(ix.names, name)
	ix.nameIDs[name] = n
	return n
}

// nameID is name's number, false if no entry ever had it.
func (ix *index) nameID(name string) (uint32, bool) {
	n, ok := ix.nameIDs[name]
	return n, ok
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
		if ix.next&(1<<chunkBits-1) == 0 {
			ix.chunks = append(ix.chunks, chunk{slots: make([]slot, 1<<chunkBits), text: make([]byte, 0, 48<<chunkBits)})
		}
		s, c := ix.at(ix.next)
		*s = slot{key: e.key, prevSame: noEntry, stored: e.stored, finished: e.finished, where: e.where,
			client: ix.intern(e.clientID), course: ix.intern(e.courseID), status: ix.intern(string(e.status))}
		s.jobID = c.put(e.jobID)
		h := ix.hash(c.str(s.jobID))
		if prev := ix.next - 1; ix.next&(1<<chunkBits-1) > 0 && string(c.str(c.slots[prev&(1<<chunkBits-1)].batch)) == e.batch {
			s.batch = c.slots[prev&(1<<chunkBits-1)].batch // a batch's entries come together
		} else {
			s.batch = c.put(e.batch)
		}
		if n, ok := ix.byJob[h]; ok {
			s.prevSame = n
		}
		ix.byJob[h] = ix.next
		ix.next++
	}
	ix.last = seq
	close(ix.moved)
	ix.moved = make(chan struct{})
}

// find is the number of jobID's newest entry kept.
func (ix *index) find(jobID []byte) (uint64, bool) {
	n, ok := ix.byJob[ix.hash(jobID)]
	for ok && n != noEntry && n >= ix.first {
		s, c := ix.at(n)
		if string(c.str(s.jobID)) == string(jobID) {
			return n, true
		}
		n = s.prevSame
	}
	return 0, false
}

// newest says whether entry n is its job's newest (a job stored again
// has an older entry too).
func (ix *index) newest(n uint64) bool {
	s, c := ix.at(n)
	m, _ := ix.find(c.str(s.jobID))
	return m == n
}

// entry is entry n, copied out.
func (ix *index) entry(n uint64) entry {
	s, c := ix.at(n)
	return entry{key: s.key, stored: s.stored, finished: s.finished, jobID: string(c.str(s.jobID)),
		clientID: ix.names[s.client], courseID: ix.names[s.course], status: messages.Status(ix.names[s.status]),
		where: s.where, batch: string(c.str(s.batch))}
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
	end := ix.search(func(s *slot) bool { return s.key>>keyPosBits >= first })
	for n := ix.first; n < end; n++ {
		s, c := ix.at(n)
		if h := ix.hash(c.str(s.jobID)); ix.byJob[h] == n {
			delete(ix.byJob, h)
		}
		*s = slot{}
	}
	ix.first = end
	for len(ix.chunks) > 0 && (ix.base+1)<<chunkBits <= ix.first {
		ix.chunks[0] = chunk{}
		ix.chunks = ix.chunks[1:]
		ix.base++
	}
}

// lookup is the newest entry of jobID.
func (ix *index) lookup(jobID string) (entry, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n, ok := ix.find([]byte(jobID))
	if !ok {
		return entry{}, false
	}
	return ix.entry(n), true
}

// page is the entries of a page, newest first, and the cursor of the
// next page (0: none). Times bound the messages' store times first, as
// they grow with the stream, then the records' finish times.
func (ix *index) page(v Viewer, q *messages.ClientGetHistory, limit int) ([]entry, uint64) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	// A name no entry has matches none.
	client, okClient := ix.nameID(v.ClientID)
	course, okCourse := ix.nameID(q.CourseID)
	status, okStatus := ix.nameID(string(q.Status))
	if !v.Admin && !okClient || q.CourseID != "" && !okCourse || q.Status != "" && !okStatus {
		return nil, 0
	}
	hi := ix.next
	if q.Cursor > 0 {
		hi = ix.search(func(s *slot) bool { return s.key >= q.Cursor })
	}
	if q.Until > 0 {
		hi = min(hi, ix.search(func(s *slot) bool { return s.stored >= q.Until }))
	}
	lo := ix.first
	if q.Since > 0 {
		lo = ix.search(func(s *slot) bool { return s.stored >= q.Since })
	}
	var out []entry
	for n := hi; n > lo; n-- {
		s, _ := ix.at(n - 1)
		if !v.Admin && s.client != client ||
			q.CourseID != "" && s.course != course ||
			q.Status != "" && s.status != status ||
			q.Since != 0 && s.finished < q.Since ||
			q.Until != 0 && s.finished >= q.Until ||
			!ix.newest(n-1) { // stored again since
			continue
		}
		out = append(out, ix.entry(n-1))
		if len(out) == limit {
			if n-1 > lo {
				return out, s.key
			}
			break
		}
	}
	return out, 0
}
