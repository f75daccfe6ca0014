package messages

import (
	"bytes"
	"errors"
	"fmt"
)

// Batch carries several messages from one sender to one receiver in one
// NATS message: what a peer has to send to the same subject at the same
// moment (the results an event loop's turn produced, the acks of a batch
// of results, the jobs a dispatch handed one agent) travels together. A
// NATS message costs every process on its way a read, a parse and a
// hand-over between goroutines, whatever its size, and at a deadline most
// messages are small and go the same way at once. Addition to INGInious
// (protocol 3).
//
// Each item is the complete encoding of one message, as Encode makes it;
// a receiver handles the items in order, exactly as if each had come
// alone with the batch's reply subject (Split). A batch never holds a
// batch.
type Batch struct {
	Messages [][]byte `cbor:"messages"`
}

// Bounds of what Pack puts in one batch. Small enough that a receiver
// never holds much more than one message's worth per batch, large enough
// that a deadline's traffic travels in a few NATS messages.
const (
	// MaxBatchItems is the most messages one batch carries.
	MaxBatchItems = 1024
	// MaxBatchBytes is the largest batch Pack makes, whatever the server's
	// max_payload allows.
	MaxBatchBytes = 1 << 20
)

// batchPrefix is how every encoded Batch begins: the 2-byte tag head
// (major type 6, 25) and the tag number. Receivers tell a batch from a
// single message by it without decoding.
var batchPrefix = func() []byte {
	tag := uint16(tagBase + registryIndex[*Batch]())
	return []byte{0xd9, byte(tag >> 8), byte(tag)}
}()

// ErrNestedBatch is returned for a batch item that is itself a batch.
var ErrNestedBatch = errors.New("a batch inside a batch")

// IsBatch says whether data is an encoded Batch (or claims to be).
func IsBatch(data []byte) bool { return bytes.HasPrefix(data, batchPrefix) }

// Split returns the messages data carries: its items if it is a Batch,
// else data itself. A batch that does not decode is an error wrapping
// ErrMalformed; so is one with no item, more than MaxBatchItems, or an
// item that is itself a batch (wrapping ErrNestedBatch too), and nothing
// of it is returned: the sender made it wrong as a whole. Items are not
// decoded here; each is decoded (Decode) and answered on its own, as a
// single message is. They share data's memory.
func Split(data []byte) ([][]byte, error) {
	if !IsBatch(data) {
		return [][]byte{data}, nil
	}
	if len(data) > MaxMessageSize {
		return nil, fmt.Errorf("%w: Batch: %d bytes is over the limit of %d", ErrMalformed, len(data), MaxMessageSize)
	}
	items, err := splitBatch(data[len(batchPrefix):])
	if err != nil {
		return nil, fmt.Errorf("%w: Batch: %v", ErrMalformed, err)
	}
	for i, item := range items {
		if IsBatch(item) {
			return nil, fmt.Errorf("%w: Batch: item %d: %w", ErrMalformed, i, ErrNestedBatch)
		}
	}
	return items, nil
}

// splitBatch reads the body of a Batch (what follows its tag) without the
// reflective decoder, and without copying: it is on every hop's path. It
// accepts exactly what the strict decoder accepts for a Batch with
// messages (FuzzSplit checks that they agree): a map of one pair, the key
// "messages", a definite array of definite byte strings, nothing after.
func splitBatch(b []byte) ([][]byte, error) {
	r := cborReader{b: b}
	if n, err := r.head(5); err != nil || n != 1 {
		return nil, errors.New("not a map of one pair (messages)")
	}
	if n, err := r.head(3); err != nil || n != 8 || r.take(8) != "messages" {
		return nil, errors.New("the only field is messages")
	}
	n, err := r.head(4)
	if err != nil {
		return nil, fmt.Errorf("messages: %v", err)
	}
	if n == 0 || n > MaxBatchItems {
		return nil, fmt.Errorf("%d messages (1 to %d)", n, MaxBatchItems)
	}
	items := make([][]byte, n)
	for i := range items {
		size, err := r.head(2)
		if err != nil {
			return nil, fmt.Errorf("message %d: %v", i, err)
		}
		if size > uint64(len(r.b)) {
			return nil, fmt.Errorf("message %d: %d bytes, %d left", i, size, len(r.b))
		}
		items[i] = r.b[:size:size]
		r.b = r.b[size:]
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%d bytes after the batch", len(r.b))
	}
	return items, nil
}

// cborReader reads CBOR heads off the front of b.
type cborReader struct{ b []byte }

// head reads a head of major type major with a definite argument.
func (r *cborReader) head(major byte) (uint64, error) {
	if len(r.b) == 0 {
		return 0, errors.New("truncated")
	}
	if m := r.b[0] >> 5; m != major {
		return 0, fmt.Errorf("major type %d where %d belongs", m, major)
	}
	if info := r.b[0] & 0x1f; info > 27 { // 28-30 are reserved, 31 is an indefinite length
		return 0, fmt.Errorf("additional information %d is not a definite length", info)
	}
	f := fastReader{b: r.b}
	_, _, n, ok := f.head()
	if !ok {
		return 0, errors.New("truncated")
	}
	r.b = f.b
	return n, nil
}

// take returns the next n bytes as a string ("" if fewer are left).
func (r *cborReader) take(n int) string {
	if len(r.b) < n {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// Pack groups encoded messages, in order, into as few NATS payloads as
// the bounds allow: each payload is a Batch of consecutive items, or an
// item alone where it would be a batch of one (so a peer that is sent one
// message at a time sees exactly what it saw before batches). maxBytes
// bounds a payload (the server's max_payload; MaxBatchBytes if larger or
// 0). An item too large to share a payload goes alone. emit is called once
// per payload, in order, with the number of messages it carries; Pack
// returns emit's first error.
func Pack(items [][]byte, maxBytes int, emit func(payload []byte, n int) error) error {
	if maxBytes <= 0 || maxBytes > MaxBatchBytes {
		maxBytes = MaxBatchBytes
	}
	for len(items) > 0 {
		n, size := 0, batchOverhead
		for n < len(items) && n < MaxBatchItems {
			s := itemOverhead + len(items[n])
			if n > 0 && size+s > maxBytes {
				break
			}
			size += s
			n++
		}
		payload := items[0]
		if n > 1 {
			payload = encodeBatch(items[:n], size)
		}
		err := emit(payload, n)
		if err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

// Sizes of the CBOR heads around a batch's items, at their largest: the
// tag (3 bytes), a one-pair map (1), the key "messages" (9), the array
// head (up to 3 for MaxBatchItems); each item's byte string head (up to 5
// for what a NATS payload can hold).
const (
	batchOverhead = 3 + 1 + 9 + 3
	itemOverhead  = 5
)

// encodeBatch writes the Batch of items by hand: it is on every hop's
// path, and its form is fixed (golden file Batch.cbor, and a test that
// Encode agrees byte for byte).
func encodeBatch(items [][]byte, size int) []byte {
	out := make([]byte, 0, size)
	out = append(out, batchPrefix...)
	out = append(out, 0xa1)                                         // map of one pair
	out = append(out, 0x68, 'm', 'e', 's', 's', 'a', 'g', 'e', 's') // text(8)
	out = AppendHead(out, 4, uint64(len(items)))                    // array
	for _, it := range items {
		out = AppendHead(out, 2, uint64(len(it))) // byte string
		out = append(out, it...)
	}
	return out
}

// AppendHead appends the shortest CBOR head of major type major and
// argument n (RFC 8949 §3, preferred serialization). Exported for the
// hand-written encoders of other packages (the backend's journal).
func AppendHead(out []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(out, m|byte(n))
	case n <= 0xff:
		return append(out, m|24, byte(n))
	case n <= 0xffff:
		return append(out, m|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(out, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(out, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// AppendInt appends n as a CBOR integer, in its shortest form.
func AppendInt(out []byte, n int64) []byte {
	if n < 0 {
		return AppendHead(out, 1, uint64(-1-n))
	}
	return AppendHead(out, 0, uint64(n))
}
