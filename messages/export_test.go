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

// DecodeAnyCounted is DecodeAny after the count of free-form values that
// decodeTagged makes first, whatever the lookup of the type.
func DecodeAnyCounted(data []byte) (Message, error) {
	if err := checkFreeFormItems(data); err != nil {
		return nil, err
	}
	return decodeAny(data)
}

// FastDecode is the hand-written decoder of data's message type, if it
// has one and takes data.
func FastDecode(data []byte) (Message, bool) {
	if len(data) < 3 || data[0] != 0xd9 {
		return nil, false
	}
	i := int(data[1])<<8 | int(data[2]) - tagBase
	if i < 0 || i >= len(registry) || fastDecoders[i] == nil {
		return nil, false
	}
	return fastDecoders[i](data[3:])
}

// CheckFreeForm is the check Decode skips for what FastDecode took.
var CheckFreeForm = checkFreeForm

// EncodeReflective is the reflective encoder, which the hand-written one
// must agree with byte for byte.
func EncodeReflective(m Message) ([]byte, error) { return encMode.Marshal(m) }

// FastEncode is the hand-written encoder of m's type, if it has one and
// takes m.
func FastEncode(m Message) ([]byte, bool) {
	i := hotIndex(m)
	if i < 0 {
		return nil, false
	}
	return encodeFast(m, i)
}
