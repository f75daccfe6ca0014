package contract

import (
	"encoding/json"

	"github.com/ingo-grader/ingo/internal/jsonitems"
)

// FreeValues counts the values of result.json's tests and custom values
// together (every value at any depth inside the two objects; their keys
// are not values) without decoding them, and stops past max (it then
// returns max+1). Decoding Result builds the two objects' keys and raw
// values first: an 8 MiB result.json of one-number tests took 122 MiB
// before their count could refuse them, and a runtime bounds its reading
// of a result with this count before it decodes it. An error is data
// that is not JSON, which decoding Result refuses too.
func FreeValues(data []byte, max int) (int, error) {
	// Raw bytes, copied once; the other fields are skipped, not built.
	var free struct {
		Tests  json.RawMessage `json:"tests"`
		Custom json.RawMessage `json:"custom"`
	}
	if err := json.Unmarshal(data, &free); err != nil {
		return 0, err
	}
	n := 0
	for _, raw := range []json.RawMessage{free.Tests, free.Custom} {
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		// The object itself is not one of its values.
		if n += jsonitems.Count(raw, max-n+1) - 1; n > max {
			return max + 1, nil
		}
	}
	return n, nil
}
