package api

import (
	"bytes"
	"testing"
)

// TestCourseFormsTaskYAML: a task archive whose task.yaml is written as
// public INGInious courses write it (strings for numbers, an empty
// hard_time, 'off', a legacy output) is read as INGInious reads it, by the
// same reader as the CLI and the bridge (internal/taskfile), and grades.
func TestCourseFormsTaskYAML(t *testing.T) {
	e := newEnv(t, Options{AdminToken: testToken})
	e.waitReady()
	for _, c := range []struct {
		name, yaml string
		time       float64
	}{
		{"new format", "environment_type: docker\nenvironment_id: default\nenvironment_parameters:\n" +
			"  limits: {time: '20', hard_time: '', memory: '100', output: '2'}\n  network_grading: 'off'\n  run_cmd: ''\n", 20},
		{"old format", "environment: default\nlimits:\n  time: '12'\n  hard_time: ''\n  memory: '100'\n  output: '2'\nnetwork_grading: false\n", 12},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := "course-" + map[bool]string{true: "new", false: "old"}[c.time == 20]
			archive := tarGz(t, map[string]string{"task.yaml": c.yaml, "run": "#!/bin/sh\nfeedback-result success\n"}, nil)
			ct, body := multipartBody(t,
				[3]string{"job", "", `{"job_id": "` + id + `", "inputs": {"@fake": {"text": "a full feedback text, longer than two bytes"}}}`},
				[3]string{"task", "task.tgz", string(archive)})
			status, data := e.call("POST", "/api/v1/jobs", ct, bytes.NewReader(body))
			if status != 202 {
				t.Fatalf("submit: %d %s", status, data)
			}
			_, res := e.followToDone(id)
			echo := get(res, "custom", "echo")
			if res["status"] != "success" || res["text"] != "a full feedback text, longer than two bytes" ||
				get(echo, "limits", "time") != c.time || get(echo, "limits", "memory") != 100.0 ||
				get(echo, "limits", "hard_time") != 3*c.time { // INGInious: an empty hard_time is 3 x time
				t.Errorf("result %v", res)
			}
			if out, _ := get(echo, "limits", "output").(float64); out > 0 && out < 1024 {
				t.Errorf("the legacy output: '2' became an output bound of %v bytes", out)
			}
		})
	}
}
