package api

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// TestSubmit_BoundsInputValues: a job's inputs hold at most
// messages.MaxFreeFormItems values, as the backend takes them (400
// invalid_job, as any job over the wire format's bounds), and the API
// refuses a body of many more before it decodes it: two bytes of JSON
// make an empty map, and 3 MB of them in an "@" input took the API 325 MB.
func TestSubmit_BoundsInputValues(t *testing.T) {
	e := newEnv(t, Options{AdminToken: testToken})
	task := string(tarGz(t, map[string]string{"run": "#!/bin/sh\n"}, nil))
	strs := func(n int) string { return `["` + strings.Repeat(`", "`, n-1) + `"]` }
	var keys strings.Builder
	for i := range messages.MaxFreeFormItems + 1 {
		fmt.Fprintf(&keys, `"q%d": "", `, i)
	}
	for _, c := range []struct {
		name     string
		inputs   string
		status   int
		maxAlloc uint64
	}{
		{"within the bound", `{"q": ` + strs(100_000) + `, "r": ` + strs(100_000) + `}`, http.StatusAccepted, 1 << 30},
		{"lists over the bound", `{"q": ` + strs(100_000) + `, "r": ` + strs(100_000) + `, "s": ` + strs(100_000) + `}`, http.StatusBadRequest, 1 << 30},
		{"an @ input of empty maps", `{"@x": [` + strings.Repeat("{},", 1<<20) + `{}]}`, http.StatusBadRequest, 48 << 20},
		{"too many problems", `{` + keys.String() + `"last": ""}`, http.StatusBadRequest, 1 << 30},
	} {
		ct, body := multipartBody(t, [3]string{"job", "", `{"inputs": ` + c.inputs + `}`}, [3]string{"task", "t.tgz", task})
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		status, answer := e.call("POST", "/api/v1/jobs", ct, strings.NewReader(string(body)))
		runtime.ReadMemStats(&after)
		if status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, status, answer, c.status)
		}
		if status == http.StatusBadRequest && !strings.Contains(string(answer), `"invalid_job"`) {
			t.Errorf("%s: %s, want invalid_job", c.name, answer)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > c.maxAlloc+uint64(8*len(body)) {
			t.Errorf("%s: a body of %d KiB took %d MiB", c.name, len(body)>>10, alloc>>20)
		}
	}
}
