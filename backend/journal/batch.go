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
//	"IJB" 1                         magic and version
//	uvarint(job id length) job id   for each record: its job,
//	uvarint(record length) record   then the record (codec.go)
//
// The job id ahead of each record lets a reader find one job's records
// (LoadJob, LoadResult, a carry) without decoding the others.
const batchMagic = "IJB\x01"

const (
	// maxBatchBytes bounds a batch: a reader that wants one record reads
	// the whole message, so a batch stays small next to what it saves;
	// a record larger than this goes alone.
	maxBatchBytes = 64 << 10
	// maxBatchRecords bounds a batch's records, so a replay's apply and a
	// decoder's allocations stay small per message.
	maxBatchRecords = 1024
)

// batchRecord is one record of a batch.
type batchRecord struct {
	id   string // the job's
	data []byte // the record, Encode's form
}

// appendBatch appends the wire form of records to dst.
func appendBatch(dst []byte, records []batchRecord) []byte {
	dst = append(dst, batchMagic...)
	for _, r := range records {
		dst = binary.AppendUvarint(dst, uint64(len(r.id)))
		dst = append(dst, r.id...)
		dst = binary.AppendUvarint(dst, uint64(len(r.data)))
		dst = append(dst, r.data...)
	}
	return dst
}

// batchSize is what a record adds to a batch.
func batchSize(r batchRecord) int {
	return len(r.id) + len(r.data) + 2*binary.MaxVarintLen32
}

// isBatch says whether data is a batch (else it is one record, as an
// older journal wrote them: one message per record, on the job's subject).
func isBatch(data []byte) bool {
	return len(data) >= len(batchMagic) && string(data[:len(batchMagic)]) == batchMagic
}

// errBatch is wrapped by every error of a malformed batch.
var errBatch = errors.New("malformed batch")

// eachRecord calls fn with every record of a batch in order, stopping at
// fn's first error. The slices it passes point into data.
func eachRecord(data []byte, fn func(id string, record []byte) error) error {
	if !isBatch(data) {
		return fmt.Errorf("%w: %w: no batch header", ErrMalformed, errBatch)
	}
	rest := data[len(batchMagic):]
	for n := 0; len(rest) > 0; n++ {
		id, tail, err := field(rest)
		if err != nil {
			return fmt.Errorf("%w: %w: record %d: job id: %v", ErrMalformed, errBatch, n, err)
		}
		record, tail, err := field(tail)
		if err != nil {
			return fmt.Errorf("%w: %w: record %d: %v", ErrMalformed, errBatch, n, err)
		}
		if len(id) == 0 || len(record) == 0 {
			return fmt.Errorf("%w: %w: record %d is empty", ErrMalformed, errBatch, n)
		}
		if err := fn(string(id), record); err != nil {
			return err
		}
		rest = tail
	}
	return nil
}

// field reads one length-prefixed field.
func field(b []byte) (value, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, nil, errors.New("bad length")
	}
	if n > uint64(len(b)-k) {
		return nil, nil, fmt.Errorf("length %d beyond the batch's end", n)
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

// recordsOf returns the records of job id that data holds, in order: all
// of a batch's that belong to it, or data itself when it is a single
// record (an older journal's message on the job's subject).
func recordsOf(data []byte, id string) ([][]byte, error) {
	if !isBatch(data) {
		return [][]byte{data}, nil
	}
	var out [][]byte
	err := eachRecord(data, func(rid string, record []byte) error {
		if rid == id {
			out = append(out, record)
		}
		return nil
	})
	return out, err
}
