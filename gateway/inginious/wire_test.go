package bridge

import (
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// A ClientNewJob whose task_problems hold a map with keys that are not
// strings, as the webapp sends task.yaml's problems read by YAML (cnp3's
// network-trace problems: "exclude: {2: [dns.id]}"), decodes with the keys
// as Python's str makes them; such a frame was refused whole, job id and
// all, and the webapp never had an answer.
func TestDecodeNonStringKeys(t *testing.T) {
	frame, err := msgpack.Marshal(map[string]any{
		"@type": tClientNewJob, "job_id": "0b7e8cb1-7b0b-4c43-9cf4-44d1e2d5d0a1", "course_id": "c", "task_id": "t",
		"task_problems": map[string]any{"id": map[string]any{
			"type":    "network-trace",
			"exclude": map[any]any{2: []string{"dns.id"}, true: 1, 1.5: "x", nil: "n", 3.0: "f", 1e6: "m", 1e-5: "s"},
		}},
		"inputdata": map[string]any{"id": "0x1234"},
	})
	if err != nil {
		t.Fatal(err)
	}
	typ, v, err := decode(frame, 1<<20)
	if err != nil || typ != tClientNewJob {
		t.Fatalf("decode = %q, %v", typ, err)
	}
	got := v.(*clientNewJob).TaskProblems["id"].(map[string]any)["exclude"]
	// Python's str of a float: 3.0 is "3.0", 1e6 "1000000.0", 1e-5 "1e-05".
	want := map[string]any{"2": []any{"dns.id"}, "True": int8(1), "1.5": "x", "None": "n", "3.0": "f", "1000000.0": "m", "1e-05": "s"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("exclude = %#v\nwant      %#v", got, want)
	}
	if id := jobIDOf(frame); id != "0b7e8cb1-7b0b-4c43-9cf4-44d1e2d5d0a1" {
		t.Errorf("jobIDOf = %q", id)
	}
}
