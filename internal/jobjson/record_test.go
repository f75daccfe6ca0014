package jobjson

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// A listing's record (a summary, without the result) still says what the
// job used: `ingo jobs --json` and GET /api/v1/jobs show it per row.
func TestRecordKeepsUsageInAListing(t *testing.T) {
	cases := []struct {
		name    string
		summary bool
		usage   *messages.Usage
		want    string
	}{
		{"listing", true, &messages.Usage{WallTime: 1.3, CPUTime: 1.02, MemoryPeak: 53}, `"usage":{"wall_time":1.3,"cpu_time":1.02,"memory_peak":53},"result":null`},
		{"listing, nothing measured", true, nil, `"usage":null,"result":null`},
		{"one job", false, &messages.Usage{CPUTime: 0.5}, `"usage":{"cpu_time":0.5},"result":{`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &messages.JobRecord{JobID: "j1", Summary: c.summary, SubmittedAt: 1, FinishedAt: 2}
			r.Result.Status, r.Usage = messages.StatusSuccess, c.usage
			b, err := json.Marshal(NewRecord(r))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), c.want) {
				t.Fatalf("%s\nwant it to hold %s", b, c.want)
			}
		})
	}
}
