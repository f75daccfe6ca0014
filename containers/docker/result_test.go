package docker

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// TestJobResult_BoundsFreeFormValues: result.json's tests and custom
// values hold at most messages.MaxFreeFormItems values together, counted
// before they are decoded: 2 MiB of empty maps in a custom value took
// the agent about 300 MB to decode, and the backend refused the result.
func TestJobResult_BoundsFreeFormValues(t *testing.T) {
	// list is a JSON list holding n values, itself included.
	list := func(n int) string { return "[" + strings.Repeat("{},", n-2) + "{}]" }
	half := messages.MaxFreeFormItems / 2
	for _, c := range []struct {
		name     string
		tests    string
		custom   string
		tooMany  bool
		maxAlloc uint64
	}{
		{"at the bound", `{"t": ` + list(half) + `}`, `{"c": ` + list(half) + `}`, false, 1 << 30},
		{"one over", `{"t": ` + list(half) + `}`, `{"c": ` + list(half+1) + `}`, true, 1 << 30},
		{"a flood", `{}`, `{"c": ` + list(1<<20) + `}`, true, 16 << 20},
	} {
		data := `{"result": "success", "text": "", "grade": 100, "tests": ` + c.tests + `, "custom": ` + c.custom + `}`
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		res, err := jobResult([]byte(data), messages.DebugOff)
		runtime.ReadMemStats(&after)
		if got := errors.Is(err, errTooManyValues); got != c.tooMany {
			t.Errorf("%s: err = %v", c.name, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > c.maxAlloc+uint64(2*len(data)) {
			t.Errorf("%s: reading %d bytes allocated %d MiB", c.name, len(data), alloc>>20)
		}
		if c.tooMany {
			continue
		}
		wire, err := messages.Encode(&messages.AgentJobDone{JobID: "j", Attempt: 1, JobResult: res})
		if err == nil {
			_, err = messages.Decode(wire)
		}
		if err != nil {
			t.Errorf("%s: the backend would refuse it: %v", c.name, err)
		}
	}
}
