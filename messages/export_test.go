package messages

// Bounds of the decoder, for the strict-decoding tests in messages_test.
const (
	MaxNesting = maxNesting
	MaxItems   = maxItems
	TagBase    = tagBase
)

// DecodeBatch reads a Batch with the reflective strict decoder, which
// Split's hand-written reader must agree with.
func DecodeBatch(data []byte) ([][]byte, error) {
	m, err := Decode(data)
	if err != nil {
		return nil, err
	}
	b, ok := m.(*Batch)
	if !ok {
		return nil, ErrMalformed
	}
	return b.Messages, nil
}

// The two ways to decode a message's type, which must agree.
var (
	DecodeTagged = decodeTagged
	DecodeAny    = decodeAny
)
