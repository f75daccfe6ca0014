package messages

import (
	"errors"
	"testing"
)

// CheckEncoded must refuse exactly what Decode refuses, for encoder output.
func TestCheckEncodedAgreesWithDecode(t *testing.T) {
	var deep any = "x"
	for range maxNesting + 2 {
		deep = []any{deep}
	}
	cases := map[string]JobResult{
		"fine":              {Result: Result{Status: StatusSuccess, Text: "ok"}, Custom: map[string]any{"n": int64(1), "l": []any{"a"}}},
		"bad text":          {Result: Result{Status: StatusSuccess, Text: "a\xffb"}},
		"bad stdout":        {Stdout: "\xc3\x28"},
		"bad problem text":  {Problems: map[string]Result{"q1": {Status: StatusFailed, Text: "\xff"}}},
		"bad problem id":    {Problems: map[string]Result{"q\xff": {Status: StatusFailed}}},
		"bad custom string": {Custom: map[string]any{"k": []any{"\xff"}}},
		"bad custom key":    {Tests: map[string]any{"\xff": true}},
		"too deep":          {Custom: map[string]any{"d": deep}},
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			data, err := Encode(&AgentJobDone{JobID: "j", Attempt: 1, JobResult: r})
			if err != nil {
				t.Fatal(err)
			}
			_, decErr := Decode(data)
			checkErr := r.CheckEncoded(data)
			if (decErr == nil) != (checkErr == nil) {
				t.Fatalf("Decode: %v; CheckEncoded: %v", decErr, checkErr)
			}
			if decErr != nil && !errors.Is(decErr, ErrMalformed) {
				t.Fatalf("decode error %v", decErr)
			}
		})
	}
}
