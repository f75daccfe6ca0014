package history

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/ingo-grader/ingo/messages"
)

// Bounds of a batch: what its two stored messages hold. maxBatchRecords
// also bounds a record's place in its batch, which a key spells in
// keyPosBits.
const (
	maxBatchRecords   = 512
	maxBatchBytes     = 1 << 20
	maxBatchSummaries = 256 << 10
	// maxSummaryField bounds each name a summary keeps (course, task,
	// user...: a frontend may send any length), as every serving process
	// reads every summary and keeps a record's course and client in
	// memory. The whole record keeps them whole.
	maxSummaryField = 1 << 10
)

// headerSummary carried a record's summary in the layout of one message
// per job; read only.
const headerSummary = "Ingo-Summary"

// A frame is one encoded record (a BackendHistory of one job) preceded by
// its length as a uvarint. A batch's records message is its records'
// frames, its summaries message their summaries' frames, in the same
// order.

// batch is a batch being filled: the frames of its records and of their
// summaries, its jobs, and what the index will hold of them.
type batch struct {
	records, summaries []byte
	jobs               []string
	entries            []entry
}

func (b *batch) empty() bool { return len(b.jobs) == 0 }

// fits says whether a record and summary of those sizes may join: a
// batch holds at least one record, whatever its size.
func (b *batch) fits(record, summary int) bool {
	return b.empty() || len(b.jobs) < maxBatchRecords && len(b.records)+frameLen(record) <= maxBatchBytes &&
		len(b.summaries)+frameLen(summary) <= maxBatchSummaries
}

// frameLen is the size of a frame of n bytes.
func frameLen(n int) int {
	var l [binary.MaxVarintLen64]byte
	return binary.PutUvarint(l[:], uint64(n)) + n
}

// add adds a record: its frame bodies and its summary (as bound cut it,
// as every other process reads it).
func (b *batch) add(sum *messages.JobRecord, record, summary []byte) {
	if b.records == nil { // most batches at a deadline are large: grow less often
		b.records, b.summaries = make([]byte, 0, 64<<10), make([]byte, 0, 16<<10)
	}
	b.records = appendFrame(b.records, record)
	b.summaries = appendFrame(b.summaries, summary)
	b.jobs = append(b.jobs, sum.JobID)
	b.entries = append(b.entries, entry{jobID: sum.JobID, clientID: sum.ClientID, courseID: sum.CourseID,
		status: sum.Result.Status, finished: sum.FinishedAt, where: inBatch})
}

func appendFrame(dst, data []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(data)))
	return append(dst, data...)
}

var errFrame = errors.New("history: a batch's frames are cut short")

// nextFrame splits the first frame off data: its body and the rest, both
// sharing data.
func nextFrame(data []byte) (frame, rest []byte, err error) {
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)-k) {
		return nil, nil, errFrame
	}
	return data[k : k+int(n)], data[k+int(n):], nil
}

// frames splits data into its frames, at most max of them; the slices
// share data.
func frames(data []byte, max int) ([][]byte, error) {
	var out [][]byte
	for len(data) > 0 {
		if len(out) == max {
			return out, fmt.Errorf("history: more than %d frames", max)
		}
		f, rest, err := nextFrame(data)
		if err != nil {
			return out, err
		}
		out, data = append(out, f), rest
	}
	return out, nil
}

// frameAt is the pos-th frame of data.
func frameAt(data []byte, pos int) ([]byte, error) {
	for i := 0; len(data) > 0; i++ {
		f, rest, err := nextFrame(data)
		if err != nil || i == pos {
			return f, err
		}
		data = rest
	}
	return nil, fmt.Errorf("history: a batch has no record %d", pos)
}

// encodeRecord is a record's frame body: a BackendHistory of one job.
func encodeRecord(r *messages.JobRecord) ([]byte, error) {
	data, err := messages.Encode(&messages.BackendHistory{Jobs: []messages.JobRecord{*r}})
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return data, nil
}

// decode is the record of a frame body, or of a message of the layout of
// one message per job.
func decode(data []byte) (*messages.JobRecord, error) {
	m, err := messages.Decode(data)
	if err != nil {
		return nil, err
	}
	h, ok := m.(*messages.BackendHistory)
	if !ok || len(h.Jobs) != 1 {
		return nil, fmt.Errorf("a %s, not one record", m.MessageName())
	}
	return &h.Jobs[0], nil
}

// bound cuts each name of a summary to maxSummaryField bytes.
func bound(s *messages.JobRecord) {
	for _, f := range []*string{&s.CourseID, &s.TaskID, &s.User, &s.Launcher, &s.EnvironmentType, &s.Environment, &s.Agent, &s.ClientID} {
		if len(*f) > maxSummaryField {
			*f = strings.ToValidUTF8((*f)[:maxSummaryField], "")
		}
	}
}
