package taskfile

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// TestParseCourseForms reads task.yaml in the forms found in public
// INGInious courses (read in 2026; the files are not copied, only the
// shape of their environment keys):
//   - older format, limits as strings and the editor's legacy output '2':
//     OpenWeek/inginious-ucl-java-bac1 (M1Q1), Sina222/inginious-task-LINGE
//     (TP1Ex1), mmoelle1/INGInious-cpp-demo-tasks (01_demo);
//   - current format, strings, hard_time ”, run_cmd ” and a leftover
//     top-level network_grading: false: cnp3/exercises-inginious
//     (sockets-client-application);
//   - current format with network_grading 'on' and ssh_allowed 'on':
//     OpenWeek/INGInious-bash-2022 (cft-1-ssh).
func TestParseCourseForms(t *testing.T) {
	t.Parallel()
	type L = messages.Limits
	cases := []struct {
		name, yaml string
		envType    string
		env        string
		want       messages.EnvironmentParameters
	}{
		{"older, strings, output '2'",
			"environment: java7\nlimits:\n    memory: '100'\n    output: '2'\n    time: '30'\nnetwork_grading: false\n",
			"docker", "java7", messages.EnvironmentParameters{Limits: L{Time: 30, Memory: 100}}},
		{"older, mcq environment",
			"environment: mcq\nlimits: {time: 10}\n",
			"mcq", "mcq", messages.EnvironmentParameters{Limits: L{Time: 10}}},
		{"older wins when both are there, as INGInious converts it",
			"environment: old\nenvironment_id: new\nenvironment_type: docker-ssh\nlimits: {time: 10}\nenvironment_parameters: {limits: {time: 99}}\n",
			"docker", "old", messages.EnvironmentParameters{Limits: L{Time: 10}}},
		{"current, hard_time '', run_cmd '', leftover network_grading",
			"environment_id: cpp\nenvironment_parameters:\n    limits:\n        memory: '100'\n        hard_time: ''\n        time: '10'\n    run_cmd: ''\nenvironment_type: docker\nnetwork_grading: true\n",
			"docker", "cpp", messages.EnvironmentParameters{Limits: L{Time: 10, Memory: 100}}},
		{"current, network_grading 'on', ssh_allowed 'on'",
			"environment_id: cpp\nenvironment_parameters:\n    limits:\n        time: '6000'\n        hard_time: ''\n        memory: '100'\n    network_grading: 'on'\n    ssh_allowed: 'on'\n    run_cmd: ''\nenvironment_type: docker\n",
			"docker-ssh", "cpp", messages.EnvironmentParameters{Limits: L{Time: 6000, Memory: 100}, NetworkGrading: true}},
		{"current, numbers, booleans, hard_time and disk",
			"environment_id: python3\nenvironment_type: docker\nenvironment_parameters: {limits: {time: 20, hard_time: 45.5, memory: 512, disk: 20}, network_grading: true, ssh_allowed: false, run_cmd: ' python3 run.py '}\n",
			"docker", "python3", messages.EnvironmentParameters{Limits: L{Time: 20, HardTime: 45.5, Memory: 512, Disk: 20}, NetworkGrading: true, RunCmd: "python3 run.py"}},
		{"unquoted on/off (YAML 1.1 booleans for PyYAML)",
			"environment_parameters: {network_grading: on, ssh_allowed: off}\n",
			"docker", "default", messages.EnvironmentParameters{NetworkGrading: true}},
		{"'off' and 'false' mean off",
			"environment_parameters: {network_grading: 'off', ssh_allowed: 'false'}\n",
			"docker", "default", messages.EnvironmentParameters{}},
		{"null and zero mean the default; memory below 20 MiB is 20",
			"environment_parameters: {limits: {time: 0, hard_time: null, memory: '8'}, network_grading: null, run_cmd: null}\n",
			"docker", "default", messages.EnvironmentParameters{Limits: L{Memory: 20}}},
		{"no environment_parameters: the top-level keys",
			"environment_id: default\nlimits: {time: '7', memory: 100}\nnetwork_grading: true\n",
			"docker", "default", messages.EnvironmentParameters{Limits: L{Time: 7, Memory: 100}, NetworkGrading: true}},
		{"empty file", "", "docker", "default", messages.EnvironmentParameters{}},
		// A key given twice: PyYAML keeps the last value, and INGInious
		// grades the task (Sina222/inginious-task-LINGE, TP3Ex1Supp:
		// limits.time twice). ingo task check still reports it.
		{"older, limits.time given twice: the last counts",
			"environment: default\nlimits:\n    time: '30'\n    output: '2'\n    memory: '100'\n    time: '45'\n",
			"docker", "default", messages.EnvironmentParameters{Limits: L{Time: 45, Memory: 100}}},
		{"current, keys given twice at several levels",
			"environment_id: x\nenvironment_parameters: {limits: {time: 1, time: 2}}\nenvironment_id: cpp\nenvironment_parameters:\n    limits: {time: 3, memory: 64, memory: 128}\n    network_grading: 'on'\n",
			"docker", "cpp", messages.EnvironmentParameters{Limits: L{Time: 3, Memory: 128}, NetworkGrading: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if got.EnvironmentType != tc.envType || got.Environment != tc.env || !reflect.DeepEqual(got.Parameters, tc.want) {
				t.Errorf("got %s/%s %+v\nwant %s/%s %+v", got.EnvironmentType, got.Environment, got.Parameters,
					tc.envType, tc.env, tc.want)
			}
		})
	}
}

// TestParseRefused: each error names the key and what INGInious would
// have done.
func TestParseRefused(t *testing.T) {
	t.Parallel()
	for yaml, want := range map[string]string{
		"environment_parameters: {limits: {time: fast}}": `environment_parameters.limits.time: "fast" is not a number; INGInious would have refused the task`,
		"limits: {memory: -5}\nenvironment: x":           "limits.memory: -5 is not a positive number; INGInious would have refused",
		"environment_parameters: {limits: {time: [1]}}":  "environment_parameters.limits.time: [1] is not a number",
		"environment_parameters: {limits: {time: true}}": "environment_parameters.limits.time: true is not a number",
		"environment_parameters: {network_grading: 'sometimes'}": `environment_parameters.network_grading: "sometimes" is not on/off or true/false; ` +
			"INGInious would have taken any non-empty text as true",
		"environment_parameters: {ssh_allowed: [x]}": "environment_parameters.ssh_allowed: [x] is not on/off",
		"environment_parameters: {run_cmd: [a]}":     "environment_parameters.run_cmd: [a] is not a text; INGInious' agent would have failed the job",
		"environment_parameters: {limits: 30}":       "environment_parameters.limits: 30 is not a mapping",
		"environment_parameters: on":                 "environment_parameters: on is not a mapping",
		"environment_id: [a, b]":                     "not a valid task.yaml",
	} {
		_, err := Parse([]byte(yaml))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error with %q", yaml, err, want)
		}
	}
}

// TestParameters reads environment_parameters as msgpack decodes them
// from an INGInious webapp: other integer types, map[any]any.
func TestParameters(t *testing.T) {
	t.Parallel()
	got, err := Parameters(map[string]any{
		"limits":          map[any]any{"time": "30", "hard_time": "", "memory": uint16(256), "output": "2", "disk": int8(4)},
		"network_grading": "on", "run_cmd": nil, "ssh_allowed": "on",
	})
	want := messages.EnvironmentParameters{Limits: messages.Limits{Time: 30, Memory: 256, Disk: 4}, NetworkGrading: true}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Parameters = %+v, %v; want %+v", got, err, want)
	}
	if _, err := Parameters(map[string]any{"limits": map[string]any{"hard_time": "soon"}}); err == nil ||
		!strings.Contains(err.Error(), "environment_parameters.limits.hard_time") {
		t.Errorf("a bad hard_time: %v", err)
	}
}
