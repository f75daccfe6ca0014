package messages

// Bounds of the decoder, for the strict-decoding tests in messages_test.
const (
	MaxNesting = maxNesting
	MaxItems   = maxItems
	TagBase    = tagBase
)
