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
// the decoder's bound of a list's items. A page of the history bounds
// each of its results so.
const MaxFreeFormItems = 2 * maxItems

// ErrTooManyItems is wrapped by the refusal of free-form values holding
// more than MaxFreeFormItems values (CheckEncoded's too): the grader's
// doing, or the student's, not a fault of the platform.
var ErrTooManyItems = fmt.Errorf("free-form values hold more than %d items", MaxFreeFormItems)

// isFreeFormKey says whether a message's field of key k holds free-form
// values (JobDescription's and JobResult's).
func isFreeFormKey(k []byte) bool {
	switch string(k) {
	case "task_problems", "inputdata", "tests", "custom":
		return true
	}
	return false
}

// checkFreeFormItems is the bound of MaxFreeFormItems for the reflective
// decoder, which builds every value before anything could count them: it
// counts them in data without building anything, as the hand-written
// decoders count what they read (fastReader.free). What it cannot read it
// leaves to the decoder, which refuses it. Only a message's own fields
// count: a history page's results are each bounded by their writer.
func checkFreeFormItems(data []byte) error {
	r := fastReader{b: data}
	for len(r.b) > 0 && r.b[0]>>5 == 6 { // the tag, or tags around it
		if _, _, _, ok := r.head(); !ok {
			return nil
		}
	}
	major, _, n, ok := r.head()
	if !ok || major != 5 {
		return nil
	}
	left := MaxFreeFormItems
	for range n {
		var key []byte
		uncounted := math.MaxInt // what is not a free-form value
		if len(r.b) > 0 && r.b[0]>>5 == 3 {
			if key, ok = r.key(); !ok {
				return nil
			}
		} else if !r.skip(0, &uncounted) {
			return nil
		}
		if !isFreeFormKey(key) {
			if !r.skip(0, &uncounted) {
				return nil
			}
			continue
		}
		// The field's own map is not one of its values.
		left++
		ok := r.skip(0, &left)
		switch {
		case left < 0:
			return ErrTooManyItems
		case !ok:
			return nil
		}
	}
	return nil
}

// skip reads one item and what it holds without building it, taking one
// from *left for it and for each value inside (a map's keys are not
// values). It gives up past the decoder's nesting bound, and once *left
// is below zero.
func (r *fastReader) skip(depth int, left *int) bool {
	if depth > maxNesting {
		return false
	}
	*left--
	major, _, n, ok := r.head()
	switch {
	case !ok:
		return false
	case major == 2 || major == 3:
		if n > uint64(len(r.b)) {
			return false
		}
		r.b = r.b[n:]
	case major == 4 || major == 5:
		uncounted := math.MaxInt // keys
		for range n {
			if *left < 0 || major == 5 && !r.skip(depth+1, &uncounted) || !r.skip(depth+1, left) {
				return false
			}
		}
	case major == 6:
		*left++ // a tag is not a value of its own
		return r.skip(depth+1, left)
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
