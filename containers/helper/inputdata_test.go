package helper

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Run files written for INGInious read /.__input/__inputdata.json
// themselves: the start message, uploads as paths of their files.
func TestInputDataAsINGInious(t *testing.T) {
	tests := []struct {
		name  string
		debug string
		cmd   string
		want  map[string]any // besides "type", "input", "envtypes", "run_as_root"
	}{
		{name: "grading", want: map[string]any{"debug": false}},
		{name: "debug", debug: "debug", want: map[string]any{"debug": true}},
		{name: "run_cmd", cmd: "sh grade.sh", want: map[string]any{"debug": false, "run_cmd": "sh grade.sh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := job(map[string]any{
				"up":  map[string]any{"filename": "src/main.c", "value": "aW50IG1haW47"}, // "int main;"
				"a/b": map[string]any{"filename": "x", "value": "eA=="},                  // no folder of its own: its base64 stays
				"q1":  "42",
				"mc":  []string{"0", "2"},
			}, 1<<20)
			in["debug"], in["run_cmd"] = tt.debug, tt.cmd
			c := newContainer(t, in)
			// The value is the path of the file, as INGInious' run files
			// open it (here under the test's root).
			script := "printf 'int main;' | cmp -s - \"$INGO_HELPER_ROOT/.ingo/files/up/main.c\" && feedback-result success\n"
			c.task("run", "#!/bin/sh\n"+script, 0o755)
			c.task("grade.sh", script, 0o644)
			if r := c.result(); r.Result != "success" {
				t.Errorf("the upload's file: %+v", r)
			}
			data, err := os.ReadFile(filepath.Join(c.root, "/.ingo/__input/__inputdata.json"))
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatalf("%v: %s", err, data)
			}
			want := map[string]any{
				"type": "start", "envtypes": map[string]any{"docker": true, "docker-ssh": true}, "run_as_root": false,
				"input": map[string]any{
					"up":  map[string]any{"filename": "src/main.c", "value": "/.ingo/files/up/main.c"},
					"a/b": map[string]any{"filename": "x", "value": "eA=="},
					"q1":  "42", "mc": []any{"0", "2"},
					"@lang": "en", "@username": "alice", "@state": "",
				},
			}
			for k, v := range tt.want {
				want[k] = v
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("__inputdata.json:\n got %v\nwant %v", got, want)
			}
		})
	}
}
