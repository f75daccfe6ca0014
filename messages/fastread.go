package messages

import (
	"math"
	"unicode/utf8"

	"github.com/x448/float16"
)

// The messages every job crosses (its description on the way to an agent,
// its result on the way back) are decoded by hand (fastdecode.go): the
// reflective decoder spends most of its time finding fields and building
// free-form maps through reflect, and every process decodes them once per
// job. The hand-written path accepts only what it is sure of: a value the
// strict decoder would decode to the same Go value. Anything else (a tag,
// an indefinite length, an unknown or repeated key, a null, invalid UTF-8,
// a number out of range, a float where an integer belongs, deep nesting)
// makes it give up, and the reflective decoder decodes the whole message
// again and is the one that says what is wrong. FuzzDecode holds the two
// to the same outcome on every input.

// fastMaxDepth bounds the nesting the fast path follows, well under the
// strict decoder's maxNesting, so that what is near the bound is judged
// by the strict decoder alone.
const fastMaxDepth = 16

// fastReader reads CBOR items off the front of b. Every method returns
// ok=false where the fast path gives up; the reader is then not used
// again.
type fastReader struct {
	b []byte
	// free is how many more free-form values the reader may build
	// (MaxFreeFormItems for a message's own, for each result of a
	// history page); past it, the reader gives up and the reflective
	// decoder's count refuses the message.
	free int
}

// head reads an item's head: its major type and argument. Indefinite
// lengths and reserved values give up. For major type 7 the argument is
// the additional information (20-23: false, true, null, undefined) or,
// for floats, the raw bits, with info telling which width.
func (r *fastReader) head() (major, info byte, arg uint64, ok bool) {
	if len(r.b) == 0 {
		return 0, 0, 0, false
	}
	ib := r.b[0]
	major, info = ib>>5, ib&0x1f
	r.b = r.b[1:]
	if info < 24 {
		return major, info, uint64(info), true
	}
	var size int
	switch info {
	case 24:
		size = 1
	case 25:
		size = 2
	case 26:
		size = 4
	case 27:
		size = 8
	default:
		return 0, 0, 0, false
	}
	if len(r.b) < size {
		return 0, 0, 0, false
	}
	for _, c := range r.b[:size] {
		arg = arg<<8 | uint64(c)
	}
	r.b = r.b[size:]
	return major, info, arg, true
}

// length reads the head of a string, array or map of major type major
// and returns its definite length, bounded by maxItems for containers and
// by what is left for strings.
func (r *fastReader) length(major byte) (int, bool) {
	m, _, n, ok := r.head()
	if !ok || m != major {
		return 0, false
	}
	switch major {
	case 2, 3:
		if n > uint64(len(r.b)) {
			return 0, false
		}
	default:
		// Each element takes a byte at least: a length past what is
		// left is a lie, and must not size an allocation.
		if n > maxItems || n > uint64(len(r.b)) {
			return 0, false
		}
	}
	return int(n), true
}

// key reads a map key that must be a text string; the bytes are not
// copied (for matching field names).
func (r *fastReader) key() ([]byte, bool) {
	n, ok := r.length(3)
	if !ok {
		return nil, false
	}
	k := r.b[:n]
	r.b = r.b[n:]
	return k, utf8.Valid(k)
}

func (r *fastReader) text() (string, bool) {
	k, ok := r.key()
	return string(k), ok
}

func (r *fastReader) bytes() ([]byte, bool) {
	n, ok := r.length(2)
	if !ok {
		return nil, false
	}
	out := make([]byte, n)
	copy(out, r.b[:n])
	r.b = r.b[n:]
	return out, true
}

// int64 reads an integer that fits an int64.
func (r *fastReader) int64() (int64, bool) {
	m, _, n, ok := r.head()
	if !ok || n > math.MaxInt64 {
		return 0, false
	}
	switch m {
	case 0:
		return int64(n), true
	case 1:
		return -1 - int64(n), true
	}
	return 0, false
}

func (r *fastReader) int() (int, bool) {
	n, ok := r.int64()
	return int(n), ok && int64(int(n)) == n
}

func (r *fastReader) uint64() (uint64, bool) {
	m, _, n, ok := r.head()
	return n, ok && m == 0
}

func (r *fastReader) bool() (bool, bool) {
	m, info, _, ok := r.head()
	if !ok || m != 7 || (info != 20 && info != 21) {
		return false, false
	}
	return info == 21, true
}

// float reads a finite float of any width (not an integer: the strict
// decoder's rules for those are its own).
func (r *fastReader) float() (float64, bool) {
	m, info, bits, ok := r.head()
	if !ok || m != 7 {
		return 0, false
	}
	f, ok := floatOf(info, bits)
	return f, ok
}

// floatOf is the float64 that a float head of width info and raw bits
// holds, as the strict decoder converts it; NaN and infinities give up.
func floatOf(info byte, bits uint64) (float64, bool) {
	var f float64
	switch info {
	case 25:
		f = float64(float16.Frombits(uint16(bits)).Float32())
	case 26:
		f = float64(math.Float32frombits(uint32(bits)))
	case 27:
		f = math.Float64frombits(bits)
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// freeMap reads a free-form map (input data, tests, custom values).
func (r *fastReader) freeMap(depth int) (map[string]any, bool) {
	if depth > fastMaxDepth {
		return nil, false
	}
	return keyedMap(r, func() (any, bool) { return r.freeValue(depth + 1) })
}

// keyedMap reads a map of text keys, each once, to values read by value.
func keyedMap[V any](r *fastReader, value func() (V, bool)) (map[string]V, bool) {
	n, ok := r.length(5)
	if !ok {
		return nil, false
	}
	out := make(map[string]V, sizeHint(n))
	for range n {
		k, ok := r.key()
		if !ok {
			return nil, false
		}
		if _, dup := out[string(k)]; dup {
			return nil, false
		}
		v, ok := value()
		if !ok {
			return nil, false
		}
		out[string(k)] = v
	}
	return out, true
}

// freeValue reads one free-form value into the Go type the strict decoder
// gives it: int64, float64, string, []byte, bool, nil, []any, map[string]any.
func (r *fastReader) freeValue(depth int) (any, bool) {
	if r.free--; len(r.b) == 0 || depth > fastMaxDepth || r.free < 0 {
		return nil, false
	}
	switch r.b[0] >> 5 {
	case 0, 1:
		return r.int64()
	case 2:
		return r.bytes()
	case 3:
		return r.text()
	case 4:
		n, ok := r.length(4)
		if !ok {
			return nil, false
		}
		out := make([]any, 0, sizeHint(n))
		for range n {
			v, ok := r.freeValue(depth + 1)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	case 5:
		return r.freeMap(depth)
	case 7:
		_, info, bits, ok := r.head()
		if !ok {
			return nil, false
		}
		switch info {
		case 20, 21:
			return info == 21, true
		case 22:
			return nil, true
		}
		return floatOf(info, bits)
	}
	return nil, false // tags
}

// sizeHint is the room to make for a container that claims n elements.
// A claim is checked against the bytes left, but nested containers claim
// the same bytes over again: room made for every claim at once would be
// a lie's to size (the reflective decoder checks the whole item first).
// Beyond the hint, the container grows with what is read.
func sizeHint(n int) int { return min(n, 64) }

// seen tracks the keys of one map by their place in its field list, so
// that a repeated key gives up (the strict decoder refuses it).
type seen uint64

func (s *seen) mark(i int) bool {
	bit := seen(1) << i
	if *s&bit != 0 {
		return false
	}
	*s |= bit
	return true
}
