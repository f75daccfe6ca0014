package journal

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// The jobs' descriptions are stored apart from the records (batch.go), in
// a stream of their own, because a replay at a deadline's restart read a
// million students' answers to decode only the heads beside them: the
// server loaded, sent and the client copied ten times the bytes the
// replay needed. The records' stream now holds heads, and the inputs'
// stream is read one message at a time, when a job is dispatched.
//
// Order. The writer stores a batch's input message, waits for its ack,
// and only then publishes the batch, which names the input's sequence:
// a stored record's description is always stored, and a batch whose
// input was not stored is not published at all.
//
// Compaction. Every batch with descriptions is noted with its input's
// sequence (from the ack worker and from a replay). Once the records
// below a sequence low are purged, so are the inputs below the lowest
// input of a batch at or after low: a batch below low holds no live
// job's JobQueued (low is the oldest live job's first record; a carried
// job's description is carried with its records, into a new input).
// Inputs are only purged after the records they go with, so a preload's
// check of the records' stream (preload.go) covers both.

// inputMark is a stored batch with descriptions and its input message.
type inputMark struct {
	batch uint64 // the batch's sequence in the journal stream
	input uint64 // its input message's in the inputs stream
}

// inputsState is the liveness' part for the inputs stream.
type inputsState struct {
	marks    []inputMark // in the order noted
	unsorted bool        // a mark's input is below an earlier one's (a replay after a resent batch)
	top      uint64      // the highest input noted
	purged   uint64      // every input below this sequence was purged
}

// noteInput notes that the batch at seq has its descriptions in the input
// message at input. It must come before the batch's records are noted
// (stored), so that the compactor never sees a live record whose input it
// does not know of.
func (l *liveness) noteInput(batch, input uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := &l.inputs
	if n := len(s.marks); n > 0 && s.marks[n-1].input > input {
		s.unsorted = true
	}
	s.marks = append(s.marks, inputMark{batch, input})
	s.top = max(s.top, input)
}

// inputsBelow returns the sequence below which no input message is needed
// once the records below low are gone.
func (l *liveness) inputsBelow(low uint64) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := &l.inputs
	k := 0
	for k < len(s.marks) && s.marks[k].batch < low {
		k++
	}
	if k > 0 {
		s.marks = s.marks[k:]
		if len(s.marks) == 0 {
			s.unsorted = false
		}
		if cap(s.marks) > 1024 && cap(s.marks) > 4*len(s.marks) {
			s.marks = append([]inputMark(nil), s.marks...)
		}
	}
	below := s.top + 1
	for i, m := range s.marks {
		if m.batch >= low {
			below = min(below, m.input)
		}
		if i == 0 && !s.unsorted {
			break // the first mark's input is the lowest
		}
	}
	return below
}

// storeInputs stores a batch's input message and returns its sequence.
func (j *Journal) storeInputs(data []byte, msgID string) (uint64, error) {
	return j.store(j.inputSubject, j.subj.JournalInputsStream(), data, msgID, retryFor)
}

// readInput reads the input message at seq, from those read last when
// it is one of them (see readMessage).
func (j *Journal) readInput(ctx context.Context, seq uint64) ([]byte, error) {
	return j.readThrough(ctx, &j.recentInputs, j.inputs, j.subj.JournalInputsStream(), seq, nil)
}

// description reads the description at index (storedRecord.input) of the
// input message at seq, checking that it is job id's. A malformed input
// message is an error wrapping ErrMalformed; a read's error is wrapped.
func (j *Journal) description(ctx context.Context, seq uint64, index int, id string) ([]byte, error) {
	in, err := j.readInput(ctx, seq)
	if err != nil {
		return nil, fmt.Errorf("read input message %d: %w", seq, err)
	}
	job, err := inputOf(in, index, id)
	if err != nil {
		return nil, fmt.Errorf("input message %d: %w", seq, err)
	}
	return job, nil
}

// inputsStreamConfig is the inputs stream's configuration: the journal
// stream's, but for MaxBytes. JetStream reserves a stream's MaxBytes on
// the server's disk as the stream is created, so a second bound of
// Options.MaxBytes would ask a server for twice the disk it gave the
// journal before (and be refused where it is short). The inputs grow only
// with new jobs, which Full refuses once the two streams together reach
// 90% of Options.MaxBytes: that is their bound.
func inputsStreamConfig(journal jetstream.StreamConfig, name, subject string) jetstream.StreamConfig {
	cfg := journal
	cfg.Name = name
	cfg.Description = fmt.Sprintf("ingo backend job inputs: the descriptions of the jobs in %s", journal.Name)
	cfg.Subjects = []string{subject}
	cfg.MaxBytes = -1
	return cfg
}
