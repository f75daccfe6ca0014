package taskfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ingo-grader/ingo/messages"
)

// Defaults of a task.yaml that names no environment, as in INGInious.
const (
	DefaultEnvironmentType = "docker"
	DefaultEnvironment     = "default"
)

// Spec is what a submission takes from a task folder's task.yaml.
type Spec struct {
	EnvironmentType string
	Environment     string
	Parameters      messages.EnvironmentParameters
	// Problems are the task's problem definitions (INGInious'
	// task_problems), which graders such as the MCQ agent read.
	Problems map[string]any
	// InputRandom is how many random numbers INGInious' webapp draws for
	// each student (input_random), which it sends as @random; 0 when
	// absent or unreadable (the webapp's business, not the run's: see
	// randomCount).
	InputRandom int
}

// taskYAML is the part of INGInious' task.yaml that concerns the run.
// Everything else in the file (name, author, context, ...) is the
// frontend's business and is ignored. Values are read as `any`, since
// course teams write them in many forms (see values.go).
type taskYAML struct {
	EnvironmentID         string         `yaml:"environment_id"`
	EnvironmentType       string         `yaml:"environment_type"`
	EnvironmentParameters any            `yaml:"environment_parameters"`
	Problems              map[string]any `yaml:"problems"`
	InputRandom           any            `yaml:"input_random"`

	// The older format: environment, limits, network_grading, run_cmd at
	// the top.
	Environment    *string `yaml:"environment"`
	Limits         any     `yaml:"limits"`
	NetworkGrading any     `yaml:"network_grading"`
	RunCmd         any     `yaml:"run_cmd"`
}

// ReadDir reads dir/task.yaml. A folder without one is fine (a bare
// folder with a run file): the defaults apply and the caller (flags, a request) may say the rest.
func ReadDir(dir string) (Spec, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return Spec{}, fmt.Errorf("task folder: %w", err)
	}
	if !info.IsDir() {
		return Spec{}, fmt.Errorf("task folder %s is not a directory: give the folder that holds task.yaml", dir)
	}
	path := filepath.Join(dir, "task.yaml")
	data, err := readTaskYAML(path)
	if errors.Is(err, os.ErrNotExist) {
		return Parse(nil)
	}
	if err != nil {
		return Spec{}, fmt.Errorf("read %s: %w", path, err)
	}
	spec, err := Parse(data)
	if err != nil {
		return Spec{}, fmt.Errorf("%s: %w", path, err)
	}
	return spec, nil
}

// Parse reads task.yaml in either format (see the package doc). A file
// over the bounds of a task.yaml (see MaxBytes) is refused unread.
func Parse(data []byte) (Spec, error) {
	var doc yaml.Node
	if err := checkBounds(data, &doc); err != nil {
		return Spec{}, err
	}
	keepLast(&doc)
	var t taskYAML
	if err := doc.Decode(&t); err != nil {
		return Spec{}, fmt.Errorf("not a valid task.yaml: %w", err)
	}
	spec := Spec{Problems: stringKeys(t.Problems).(map[string]any), InputRandom: randomCount(t.InputRandom)}
	var err error
	if t.Environment != nil {
		// INGInious converts the older format whenever `environment` is
		// there, dropping environment_* keys.
		spec.Environment = firstNonEmpty(*t.Environment, DefaultEnvironment)
		spec.EnvironmentType = DefaultEnvironmentType
		if spec.Environment == "mcq" {
			spec.EnvironmentType = "mcq"
		}
		if spec.Parameters, err = parameters("", t.Limits, t.NetworkGrading, t.RunCmd); err != nil {
			return Spec{}, err
		}
		return spec, nil
	}
	spec.Environment = firstNonEmpty(t.EnvironmentID, DefaultEnvironment)
	spec.EnvironmentType = firstNonEmpty(t.EnvironmentType, DefaultEnvironmentType)
	if t.EnvironmentParameters == nil {
		// No environment_parameters: the top-level keys, which INGInious
		// would ignore for its defaults, are what the author meant.
		if spec.Parameters, err = parameters("", t.Limits, t.NetworkGrading, t.RunCmd); err != nil {
			return Spec{}, err
		}
		return spec, nil
	}
	p, err := mapOf("environment_parameters", t.EnvironmentParameters)
	if err != nil {
		return Spec{}, err
	}
	const prefix = "environment_parameters."
	if spec.Parameters, err = parameters(prefix, p["limits"], p["network_grading"], p["run_cmd"]); err != nil {
		return Spec{}, err
	}
	ssh, err := boolean(prefix+"ssh_allowed", p["ssh_allowed"])
	if err != nil {
		return Spec{}, err
	}
	if ssh && !strings.HasSuffix(spec.EnvironmentType, "-ssh") {
		spec.EnvironmentType += "-ssh"
	}
	return spec, nil
}

// MaxInputRandom bounds input_random as read: INGInious has no bound,
// but a few numbers is what tasks use, and a task folder from anyone must
// not make a client allocate billions.
const MaxInputRandom = 1000

// randomCount reads input_random as INGInious' webapp does (int(value): a
// number or a string of digits). A value it would refuse, or one over
// MaxInputRandom, reads as 0: the numbers come from the frontend, and only
// `ingo submit` draws them in its place, so a bad value must not refuse the
// job.
func randomCount(v any) int {
	f, ok, err := number("input_random", v)
	if err != nil || !ok || f > MaxInputRandom {
		return 0
	}
	return int(f)
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
