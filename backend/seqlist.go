package backend

import "slices"

// seqList is a set of jobs ordered by arrival (seq), in chunks of at most
// seqChunk jobs: an insert or a delete is a binary search and a move
// within one chunk, O(log n + seqChunk); walking from any seq on touches
// only what it lists. New jobs arrive in order and are appended; a
// re-queued job goes back to its place.
type seqList struct {
	chunks [][]*job
	n      int
}

const seqChunk = 256

func (s *seqList) Len() int { return s.n }

// chunkOf is the chunk where seq belongs: the last whose first job is not
// after it (the first chunk for a seq before every job).
func (s *seqList) chunkOf(seq uint64) int {
	i, _ := slices.BinarySearchFunc(s.chunks, seq, func(c []*job, seq uint64) int {
		if c[0].seq <= seq {
			return -1
		}
		return 1
	})
	return max(0, i-1)
}

func bySeq(j *job, seq uint64) int {
	switch {
	case j.seq < seq:
		return -1
	case j.seq > seq:
		return 1
	}
	return 0
}

func (s *seqList) insert(j *job) {
	s.n++
	if len(s.chunks) == 0 {
		s.chunks = [][]*job{{j}}
		return
	}
	last := s.chunks[len(s.chunks)-1]
	if last[len(last)-1].seq < j.seq { // the usual case: a new job
		if len(last) < seqChunk {
			s.chunks[len(s.chunks)-1] = append(last, j)
		} else {
			s.chunks = append(s.chunks, append(make([]*job, 0, seqChunk), j))
		}
		return
	}
	ci := s.chunkOf(j.seq)
	c := s.chunks[ci]
	at, _ := slices.BinarySearchFunc(c, j.seq, bySeq)
	c = slices.Insert(c, at, j)
	if len(c) > seqChunk { // split in halves, each with room to grow
		right := append(make([]*job, 0, seqChunk), c[len(c)/2:]...)
		c = c[: len(c)/2 : len(c)/2]
		s.chunks = slices.Insert(s.chunks, ci+1, right)
	}
	s.chunks[ci] = c
}

// delete removes j, and says whether it was there.
func (s *seqList) delete(j *job) bool {
	if len(s.chunks) == 0 {
		return false
	}
	ci := s.chunkOf(j.seq)
	c := s.chunks[ci]
	at, found := slices.BinarySearchFunc(c, j.seq, bySeq)
	if !found || c[at] != j {
		return false
	}
	s.n--
	c = slices.Delete(c, at, at+1)
	if len(c) == 0 {
		s.chunks = slices.Delete(s.chunks, ci, ci+1)
		return true
	}
	s.chunks[ci] = c
	return true
}

// seqIter walks a seqList in order from a place on.
type seqIter struct {
	s      *seqList
	ci, at int
}

// after starts at the first job whose seq is above seq (every job when
// all is set).
func (s *seqList) after(seq uint64, all bool) seqIter {
	if len(s.chunks) == 0 {
		return seqIter{s: s}
	}
	ci := s.chunkOf(seq)
	at, found := slices.BinarySearchFunc(s.chunks[ci], seq, bySeq)
	if all {
		ci, at, found = 0, 0, false
	}
	if found {
		at++
	}
	it := seqIter{s: s, ci: ci, at: at}
	it.settle()
	return it
}

func (it *seqIter) settle() {
	for it.ci < len(it.s.chunks) && it.at >= len(it.s.chunks[it.ci]) {
		it.ci, it.at = it.ci+1, 0
	}
}

// peek is the current job, nil at the end.
func (it *seqIter) peek() *job {
	if it.ci >= len(it.s.chunks) {
		return nil
	}
	return it.s.chunks[it.ci][it.at]
}

func (it *seqIter) next() {
	it.at++
	it.settle()
}
