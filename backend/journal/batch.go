package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A batch is one stream message holding several records, the unit of the
// group commit (async.go): JetStream's cost is per message (its store, its
// ack, its index), so storing the transitions that arrive together as one
// message divides it by the batch's size. Its form:
//
//	"IJB" 2                         magic and version
//	uvarint(input sequence)         its input message's, 0 when none
//	uvarint(job id length) job id   for each record: its job,
//	uvarint(description)            0, or 1 + the index of the record's
//	                                description in the input message,
//	uvarint(record length) record   then the record (codec.go)
//
// The jobs' descriptions (a JobQueued's student answers, most of a
// journal's bytes) are not in the batch but in its input message, in the
// inputs stream (inputs.go): a replay reads only the records, and reads
// them at the speed of heads instead of the whole queue's answers. An
// input message holds the descriptions of one batch:
//
//	"IJD" 1                         magic and version
//	uvarint(job id length) job id   for each description: its job,
//	uvarint(length) description     then messages.Encode's ClientNewJob
//
// A batch of version 1 (written before) has no input sequence and no
// description field: its JobQueued records hold their descriptions.
//
// The job id ahead of each record lets a reader find one job's records
// (LoadJob, LoadResult, a carry) without decoding the others.
const (
	batchMagicV1 = "IJB\x01"
	batchMagic   = "IJB\x02"
	inputsMagic  = "IJD\x01"
)

const (
	// maxBatchBytes bounds a batch with its input message: a reader that
	// wants one record reads the whole message, so a batch stays small
	// next to what it saves; a record larger than this goes alone.
	maxBatchBytes = 64 << 10
	// maxBatchRecords bounds a batch's records, so a replay's apply and a
	// decoder's allocations stay small per message.
	maxBatchRecords = 1024
)

// batchRecord is one record to write in a batch.
type batchRecord struct {
	id   string // the job's
	data []byte // the record, Encode's form (without the description when job is set)
	job  []byte // the JobQueued's description, for the input message; nil for the others
}

// storedRecord is one record of a stored batch.
type storedRecord struct {
	id    string
	data  []byte
	input int // 0, or 1 + the index of its description in the batch's input message
}

// appendBatch appends the wire form of records to dst; the descriptions
// of those with one are in the input message at inputSeq (appendInputs).
func appendBatch(dst []byte, records []batchRecord, inputSeq uint64) []byte {
	dst = append(dst, batchMagic...)
	dst = binary.AppendUvarint(dst, inputSeq)
	k := 0
	for _, r := range records {
		dst = binary.AppendUvarint(dst, uint64(len(r.id)))
		dst = append(dst, r.id...)
		if r.job != nil {
			k++
			dst = binary.AppendUvarint(dst, uint64(k))
		} else {
			dst = binary.AppendUvarint(dst, 0)
		}
		dst = binary.AppendUvarint(dst, uint64(len(r.data)))
		dst = append(dst, r.data...)
	}
	return dst
}

// appendInputs appends the input message of records to dst: the
// descriptions of those that have one, in order. It returns dst
// unchanged when none has.
func appendInputs(dst []byte, records []batchRecord) []byte {
	start := len(dst)
	dst = append(dst, inputsMagic...)
	n := 0
	for _, r := range records {
		if r.job == nil {
			continue
		}
		n++
		dst = binary.AppendUvarint(dst, uint64(len(r.id)))
		dst = append(dst, r.id...)
		dst = binary.AppendUvarint(dst, uint64(len(r.job)))
		dst = append(dst, r.job...)
	}
	if n == 0 {
		return dst[:start]
	}
	return dst
}

// batchSize is what a record adds to a batch and its input message
// together, which maxBatchBytes bounds.
func batchSize(r batchRecord) int { return recordSize(r) + descriptionSize(r) }

// recordSize is what a record adds to a batch, at most.
func recordSize(r batchRecord) int { return len(r.id) + len(r.data) + 3*binary.MaxVarintLen32 }

// descriptionSize is what a record adds to its batch's input message, at
// most: nothing when it has no description.
func descriptionSize(r batchRecord) int {
	if r.job == nil {
		return 0
	}
	return len(r.id) + len(r.job) + 2*binary.MaxVarintLen32
}

// isBatch says whether data is a batch, of either version (else it is
// one record, as an older journal wrote them: one message per record, on
// the job's subject).
func isBatch(data []byte) bool {
	return hasMagic(data, batchMagic) || hasMagic(data, batchMagicV1)
}

func hasMagic(data []byte, magic string) bool {
	return len(data) >= len(magic) && string(data[:len(magic)]) == magic
}

// errBatch is wrapped by every error of a malformed batch.
var errBatch = errors.New("malformed batch")

// eachStored calls fn with every record of a batch in order, stopping at
// fn's first error, and returns the batch's input sequence (0 when it
// has none). The slices it passes point into data.
func eachStored(data []byte, fn func(storedRecord) error) (uint64, error) {
	var rest []byte
	var inputSeq uint64
	v2 := hasMagic(data, batchMagic)
	switch {
	case v2:
		n, k := uvarint(data[len(batchMagic):])
		if k <= 0 {
			return 0, fmt.Errorf("%w: %w: bad input sequence", ErrMalformed, errBatch)
		}
		inputSeq, rest = n, data[len(batchMagic)+k:]
	case hasMagic(data, batchMagicV1):
		rest = data[len(batchMagicV1):]
	default:
		return 0, fmt.Errorf("%w: %w: no batch header", ErrMalformed, errBatch)
	}
	inputs := 0
	for n := 0; len(rest) > 0; n++ {
		id, tail, err := field(rest)
		if err != nil {
			return 0, fmt.Errorf("%w: %w: record %d: job id: %v", ErrMalformed, errBatch, n, err)
		}
		input := 0
		if v2 {
			d, k := uvarint(tail)
			switch {
			case k <= 0:
				return 0, fmt.Errorf("%w: %w: record %d: bad description index", ErrMalformed, errBatch, n)
			case d != 0 && (d != uint64(inputs)+1 || inputSeq == 0):
				return 0, fmt.Errorf("%w: %w: record %d: description %d out of order", ErrMalformed, errBatch, n, d)
			case d != 0:
				inputs++
				input = inputs
			}
			tail = tail[k:]
		}
		record, tail, err := field(tail)
		if err != nil {
			return 0, fmt.Errorf("%w: %w: record %d: %v", ErrMalformed, errBatch, n, err)
		}
		if len(id) == 0 || len(record) == 0 {
			return 0, fmt.Errorf("%w: %w: record %d is empty", ErrMalformed, errBatch, n)
		}
		if err := fn(storedRecord{id: string(id), data: record, input: input}); err != nil {
			return 0, err
		}
		rest = tail
	}
	return inputSeq, nil
}

// inputOf returns the description at index (storedRecord.input) of an
// input message, checking that it is job id's.
func inputOf(data []byte, index int, id string) ([]byte, error) {
	if !hasMagic(data, inputsMagic) {
		return nil, fmt.Errorf("%w: not an input message", ErrMalformed)
	}
	rest := data[len(inputsMagic):]
	for n := 1; len(rest) > 0; n++ {
		jid, tail, err := field(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: input message: description %d: job id: %v", ErrMalformed, n, err)
		}
		desc, tail, err := field(tail)
		if err != nil {
			return nil, fmt.Errorf("%w: input message: description %d: %v", ErrMalformed, n, err)
		}
		if n == index {
			if string(jid) != id {
				return nil, fmt.Errorf("%w: input message: description %d is %s's, not %s's", ErrMalformed, n, jid, id)
			}
			return desc, nil
		}
		rest = tail
	}
	return nil, fmt.Errorf("%w: input message: no description %d", ErrMalformed, index)
}

// uvarint is binary.Uvarint that also refuses a number not written in
// its shortest form, so that a batch has one wire form.
func uvarint(b []byte) (uint64, int) {
	n, k := binary.Uvarint(b)
	if k > 1 && b[k-1] == 0 {
		return 0, -1
	}
	return n, k
}

// field reads one length-prefixed field.
func field(b []byte) (value, rest []byte, err error) {
	n, k := uvarint(b)
	if k <= 0 {
		return nil, nil, errors.New("bad length")
	}
	if n > uint64(len(b)-k) {
		return nil, nil, fmt.Errorf("length %d beyond the batch's end", n)
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

// jobRecords returns the records of job id that data holds, in order,
// and the input sequence of their batch: all of a batch's that belong to
// it, or data itself when it is a single record (an older journal's
// message on the job's subject).
func jobRecords(data []byte, id string) ([]storedRecord, uint64, error) {
	if !isBatch(data) {
		return []storedRecord{{id: id, data: data}}, 0, nil
	}
	var out []storedRecord
	inputSeq, err := eachStored(data, func(r storedRecord) error {
		if r.id == id {
			out = append(out, r)
		}
		return nil
	})
	return out, inputSeq, err
}
