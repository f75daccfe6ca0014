package messages

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/fxamacker/cbor/v2"
)

// Bounds of the decoder. A message over them is refused with ErrMalformed;
// NATS' max_payload bounds the total size before we see it.
const (
	// MaxMessageSize is the largest encoded message accepted (64 MiB).
	MaxMessageSize = 64 << 20
	// maxNesting bounds how deep input data and feedback may nest.
	maxNesting = 32
	// maxItems bounds the elements of one array and the pairs of one map.
	maxItems = 1 << 17
)

// ErrMalformed is wrapped by every decoding error, so callers can tell
// "the peer sent garbage" from their own failures.
var ErrMalformed = errors.New("malformed message")

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	tags := tagSet()
	var err error
	encMode, err = cbor.EncOptions{
		// Deterministic bytes: golden files compare byte for byte and the
		// same message always has the same encoding.
		Sort: cbor.SortCoreDeterministic,
		// Grades are floats; the shortest exact form keeps them small.
		ShortestFloat: cbor.ShortestFloat16,
		// NaN and infinities have no meaning as a grade or a limit.
		NaNConvert: cbor.NaNConvertReject,
		InfConvert: cbor.InfConvertReject,
		// Indefinite lengths make bounds harder to check on the far side.
		IndefLength: cbor.IndefLengthForbidden,
		// nil maps and slices encode as CBOR null, which decodes back to
		// nil: peers in other languages see "absent", never a surprise.
		NilContainers: cbor.NilContainerAsNull,
		TagsMd:        cbor.TagsAllowed,
	}.EncModeWithTags(tags)
	if err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{
		// A duplicate key is either a bug or an attempt to smuggle a value
		// past one reader and not another.
		DupMapKey: cbor.DupMapKeyEnforcedAPF,
		// A field we do not know is a peer of another version or a typo:
		// refuse it rather than drop data silently.
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
		MaxNestedLevels:   maxNesting,
		MaxArrayElements:  maxItems,
		MaxMapPairs:       maxItems,
		IndefLength:       cbor.IndefLengthForbidden,
		// An integer that does not fit the Go field is an error, not a wrap.
		IntDec: cbor.IntDecConvertSignedOrFail,
		// Free-form values (input data, custom feedback) decode to maps with
		// string keys, as JSON would, so they print and re-encode simply.
		DefaultMapType: reflect.TypeOf(map[string]any(nil)),
		NaN:            cbor.NaNDecodeForbidden,
		Inf:            cbor.InfDecodeForbidden,
		TagsMd:         cbor.TagsAllowed,
	}.DecModeWithTags(tags)
	if err != nil {
		panic(err)
	}
}

// Encode returns the wire form of m.
func Encode(m Message) ([]byte, error) {
	if m == nil || reflect.ValueOf(m).IsNil() {
		return nil, errors.New("messages: encode nil message")
	}
	if i := hotIndex(m); i >= 0 {
		if b, ok := encodeFast(m, i); ok {
			return b, nil
		}
	}
	b, err := encMode.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("messages: encode %s: %w", m.MessageName(), err)
	}
	return b, nil
}

// JobIDOf reads the job_id of a submission (ClientNewJob) Decode
// refused, when its envelope still reads (the submission's tag around a
// map with a valid job_id): a refusal that names the job reaches the
// submission its sender waits for, where one without would leave it
// waiting for an answer that never comes. "" when there is none, or for
// any other message (a malformed kill naming a job must not end its
// sender's submission of that id).
func JobIDOf(data []byte) string {
	if len(data) > MaxMessageSize {
		return ""
	}
	var tag cbor.RawTag
	if decMode.Unmarshal(data, &tag) != nil || tag.Number != tagBase+clientNewJobIndex {
		return ""
	}
	var fields map[string]cbor.RawMessage
	if decMode.Unmarshal(tag.Content, &fields) != nil {
		return ""
	}
	var id string
	if raw, ok := fields["job_id"]; !ok || decMode.Unmarshal(raw, &id) != nil || ValidateID(id) != nil {
		return ""
	}
	return id
}

// Decode reads one message. Any failure wraps ErrMalformed and says why;
// Decode never panics, whatever data holds.
func Decode(data []byte) (Message, error) {
	if len(data) > MaxMessageSize {
		return nil, fmt.Errorf("%w: %d bytes is over the limit of %d", ErrMalformed, len(data), MaxMessageSize)
	}
	m, vetted, err := decodeVetted(data)
	if err == nil && m == nil {
		return nil, fmt.Errorf("%w: CBOR null or undefined is not a message", ErrMalformed)
	}
	if err == nil {
		if !vetted {
			if err := checkFreeForm(m); err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, m.MessageName(), err)
			}
		}
		if err := checkUsage(m); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, m.MessageName(), err)
		}
		return m, nil
	}
	// Say which of the usual mistakes it is: not a tagged item at all, or
	// a tag that is not one of ours.
	var tag cbor.RawTag
	if terr := decMode.Unmarshal(data, &tag); terr != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, terr)
	}
	if tag.Number < tagBase || tag.Number-tagBase >= uint64(len(registry)) {
		return nil, fmt.Errorf("%w: unknown message type (CBOR tag %d)", ErrMalformed, tag.Number)
	}
	i := int(tag.Number - tagBase)
	return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, registry[i].MessageName(), err)
}

// decodeTagged decodes data into the message type its tag names. The
// decoder could find the type itself (decoding into a Message interface),
// but its lookup of a tag among the registered ones is about 40 % of what
// decoding a small message costs, and every process decodes every message
// it gets. A tag in the preferred form (the two-byte head, which every
// ingo tag has) picks the type from the registry directly; anything else
// takes the decoder's own path, which has the same outcome (FuzzDecode
// checks that they agree).
func decodeTagged(data []byte) (Message, error) {
	m, _, err := decodeVetted(data)
	return m, err
}

// decodeVetted is decodeTagged, and says whether the message came through
// a hand-written decoder (fastdecode.go), whose free-form values are JSON-like
// and valid UTF-8 already: checkFreeForm need not walk them again.
func decodeVetted(data []byte) (Message, bool, error) {
	if len(data) >= 3 && data[0] == 0xd9 {
		if i := int(data[1])<<8 | int(data[2]) - tagBase; i >= 0 && i < len(registry) {
			if fast := fastDecoders[i]; fast != nil {
				if m, ok := fast(data[3:]); ok {
					return m, true, nil
				}
			}
			if err := checkFreeFormItems(data); err != nil {
				return nil, false, err
			}
			m := newOfType[i]()
			if err := decMode.Unmarshal(data, m); err != nil {
				// The decoder's own lookup is the reference: it
				// takes a tag repeated around a message, which the
				// typed decode refuses.
				m, err := decodeAny(data)
				return m, false, err
			}
			return m, false, nil
		}
	}
	if err := checkFreeFormItems(data); err != nil {
		return nil, false, err
	}
	m, err := decodeAny(data)
	return m, false, err
}

// decodeAny decodes data with the decoder's own lookup of its tag.
func decodeAny(data []byte) (Message, error) {
	var m Message
	err := decMode.Unmarshal(data, &m)
	return m, err
}

// newOfType makes a new zero message of each registered type, by index.
var newOfType = func() []func() Message {
	out := make([]func() Message, len(registry))
	for i, m := range registry {
		t := reflect.TypeOf(m).Elem()
		out[i] = func() Message { return reflect.New(t).Interface().(Message) }
	}
	return out
}()
