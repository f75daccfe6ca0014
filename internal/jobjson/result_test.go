package jobjson

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// TestResultShape pins DESIGN.md §6: keys in order, empty objects rather
// than null, the archive as base64 or null.
func TestResultShape(t *testing.T) {
	t.Parallel()
	done := &messages.BackendJobDone{JobID: "j1", JobResult: messages.JobResult{
		Result: messages.Result{Status: messages.StatusSuccess, Text: "ok"}, Grade: 100}}
	got, err := json.Marshal(NewResult(done))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"job_id":"j1","status":"success","text":"ok","grade":100,"problems":{},"tests":{},"custom":{},"state":"","archive":null,"stdout":"","stderr":"","usage":null}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	done.Archive = []byte{0x1f, 0x8b, 0}
	got, _ = json.Marshal(NewResult(done))
	if !bytes.Contains(got, []byte(`"archive":"H4sA"`)) {
		t.Errorf("archive not base64: %s", got)
	}
	// Usage as DESIGN.md §6 shows it; a figure not known is left out.
	done.Usage = &messages.Usage{WallTime: 0.41, CPUTime: 0.12, MemoryPeak: 23.5,
		Students: &messages.StudentUsage{Containers: 1, CPUTime: 0.05}}
	got, _ = json.Marshal(NewResult(done))
	if want := `"usage":{"wall_time":0.41,"cpu_time":0.12,"memory_peak":23.5,"students":{"containers":1,"cpu_time":0.05}}}`; !bytes.HasSuffix(got, []byte(want)) {
		t.Errorf("usage: got %s\nwant the suffix %s", got, want)
	}
}

func TestMetaInputs(t *testing.T) {
	t.Parallel()
	m := MetaInputs("ada", time.Date(2026, 1, 2, 3, 4, 5, 600000000, time.UTC))
	if m["@username"] != "ada" || m["@time"] != "2026-01-02 03:04:05.600000" || m["@lang"] != "en" || len(m) != 6 {
		t.Errorf("MetaInputs = %v", m)
	}
}
