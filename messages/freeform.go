package messages

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// MaxFreeFormItems bounds the values of one job's free-form fields, all
// together: a description's task problems and input data, or a result's
// tests and custom values (every value at any depth inside those maps
// counts one). One byte of CBOR (or two of JSON) makes an empty map, which
// costs a decoder a hundred bytes and more: a job of 6 MiB of them took a
// process 800 MB to decode, and a few at once took its memory. Real
// submissions and feedback hold a few hundred values; one list may hold
// the decoder's bound of a list's items. A page of the history is not
// bounded so, nor are its results: the backend wrote them, each bounded
// when it came, and those of a version before the bound must still read.
const MaxFreeFormItems = 2 * maxItems

// ErrTooManyItems is wrapped by the refusal of free-form values holding
// more than MaxFreeFormItems values (CheckEncoded's too): the grader's
// doing, or the student's, not a fault of the platform.
var ErrTooManyItems = fmt.Errorf("the free-form values (a job's inputs and task problems, or its result's tests and custom values) hold more than %d values, every value at any depth counting one", MaxFreeFormItems)

// isFreeFormKey says whether a message's field of key k holds free-form
// values (JobDescription's and JobResult's).
func isFreeFormKey(k []byte) bool {
	switch string(k) {
	case "task_problems", "inputdata", "tests", "custom":
		return true
	}
	return false
}

// errContainerKey refuses a map key that holds a list or a map: no field
// name or free-form key is one, and the reflective decoder builds such a
// key in full (a struct's key that is not text) before it refuses it.
var errContainerKey = errors.New("a map key is a list or a map")

// checkFreeFormItems is the bound of MaxFreeFormItems for the reflective
// decoder, which builds every value before anything could count them: it
// counts them in data without building anything, as the hand-written
// decoders count what they read (fastReader.free). What it cannot read it
// leaves to the decoder, which refuses it before it builds anything (it
// checks the whole item is well-formed first); what the decoder refuses
// only after it has built it, or reads on past, it reads on past too, or
// refuses itself (itemScan.key). Only a message's own fields count: a
// history page's results are each bounded by their writer.
func checkFreeFormItems(data []byte) error {
	s := itemScan{fastReader: fastReader{b: data}}
	for len(s.b) > 0 && s.b[0]>>5 == 6 { // the tag, or tags around it
		if _, _, _, ok := s.head(); !ok {
			return nil
		}
	}
	major, _, n, ok := s.head()
	if !ok || major != 5 {
		return nil
	}
	left := MaxFreeFormItems
	for range n {
		var key []byte
		uncounted := math.MaxInt // what is not a free-form value
		if len(s.b) > 0 && s.b[0]>>5 == 3 {
			// Not s.fastReader.key, which gives up on a name that is
			// not valid UTF-8: the decoder reads on past it.
			k, ok := s.length(3)
			if !ok {
				return nil
			}
			key, s.b = s.b[:k], s.b[k:]
		} else if !s.key() || !s.skip(0, &uncounted) {
			return s.refused
		}
		if !isFreeFormKey(key) {
			if !s.skip(0, &uncounted) {
				return s.refused
			}
			continue
		}
		// The field's own map is not one of its values.
		left++
		ok := s.skip(0, &left)
		switch {
		case left < 0:
			return ErrTooManyItems
		case !ok:
			return s.refused
		}
	}
	return nil
}

// itemScan reads items without building them (checkFreeFormItems).
type itemScan struct {
	fastReader
	// refused is why the message is refused once skip or key stops on
	// it; nil where they stop on what the decoder refuses itself.
	refused error
}

// skip reads one item and what it holds without building it, taking one
// from *left for it and for each value inside (a map's keys are not
// values). It stops past the decoder's nesting bound, on what is not
// well-formed, once *left is below zero, and on a map key that key
// refuses.
func (s *itemScan) skip(depth int, left *int) bool {
	if depth > maxNesting {
		return false
	}
	*left--
	major, _, n, ok := s.head()
	switch {
	case !ok:
		return false
	case major == 2 || major == 3:
		if n > uint64(len(s.b)) {
			return false
		}
		s.b = s.b[n:]
	case major == 4 || major == 5:
		uncounted := math.MaxInt // keys
		for range n {
			if *left < 0 {
				return false
			}
			if major == 5 && (!s.key() || !s.skip(depth+1, &uncounted)) {
				return false
			}
			if !s.skip(depth+1, left) {
				return false
			}
		}
	case major == 6:
		*left++ // a tag is not a value of its own
		return s.skip(depth+1, left)
	}
	return true
}

// key says whether the map key that s is at may be read on: a list or a
// map, under tags or not, is refused (errContainerKey), as the decoder
// would refuse it after building it.
func (s *itemScan) key() bool {
	r := s.fastReader
	for len(r.b) > 0 && r.b[0]>>5 == 6 {
		if _, _, _, ok := r.head(); !ok {
			return true // the decoder's to refuse
		}
	}
	if len(r.b) > 0 && (r.b[0]>>5 == 4 || r.b[0]>>5 == 5) {
		s.refused = errContainerKey
		return false
	}
	return true
}

// checkFreeForm refuses, in the fields that hold free-form values, anything
// that is not JSON-like: CBOR tags (dates, bignums, nested messages, unknown
// tags) and simple values decode to Go types that do not survive a relay
// (a date comes back as an integer) or have no JSON form.
func checkFreeForm(m Message) error {
	switch m := m.(type) {
	case *ClientNewJob:
		return checkFreeFormMaps(m.TaskProblems, m.InputData)
	case *BackendNewJob:
		return checkFreeFormMaps(m.TaskProblems, m.InputData)
	case *BackendJobDone:
		return checkFreeFormMaps(m.Tests, m.Custom)
	case *AgentJobDone:
		return checkFreeFormMaps(m.Tests, m.Custom)
	}
	return nil
}

// checkFreeFormMaps checks the maps of one job's free-form fields, and
// that they hold at most MaxFreeFormItems values together.
func checkFreeFormMaps(maps ...map[string]any) error {
	left := MaxFreeFormItems
	for _, m := range maps {
		for k, v := range m {
			if !utf8.ValidString(k) {
				return errors.New("a free-form map key is not valid UTF-8")
			}
			if err := checkValue(v, &left); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkValue checks v, taking one from *left for it and each value inside.
// It recurses at most maxNesting deep: the decoder bounds nesting.
func checkValue(v any, left *int) error {
	if *left--; *left < 0 {
		return ErrTooManyItems
	}
	switch v := v.(type) {
	case nil, bool, int64, float64, []byte:
		return nil
	case string:
		if !utf8.ValidString(v) {
			return errors.New("a free-form string is not valid UTF-8")
		}
		return nil
	case []any:
		for _, e := range v {
			if err := checkValue(e, left); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, e := range v {
			if !utf8.ValidString(k) {
				return errors.New("a free-form map key is not valid UTF-8")
			}
			if err := checkValue(e, left); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("a free-form value of Go type %T (a CBOR tag or simple value) is not allowed", v)
	}
	return nil
}
