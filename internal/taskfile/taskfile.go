package taskfile

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
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
}

// taskYAML is the part of INGInious' task.yaml that concerns the run.
// Everything else in the file (name, author, context, ...) is the
// frontend's business and is ignored.
type taskYAML struct {
	EnvironmentID         string         `yaml:"environment_id"`
	EnvironmentType       string         `yaml:"environment_type"`
	EnvironmentParameters *envParamsYAML `yaml:"environment_parameters"`
	Problems              map[string]any `yaml:"problems"`

	// Older INGInious tasks name the environment and limits at the top.
	Environment    string      `yaml:"environment"`
	Limits         *limitsYAML `yaml:"limits"`
	NetworkGrading *bool       `yaml:"network_grading"`
	RunCmd         *string     `yaml:"run_cmd"`
}

type envParamsYAML struct {
	Limits         *limitsYAML `yaml:"limits"`
	NetworkGrading *bool       `yaml:"network_grading"`
	RunCmd         *string     `yaml:"run_cmd"`
}

// limitsYAML holds the limits as written: INGInious' task editor saves
// them as strings ('30') as often as numbers. Output is not read: INGInious
// never enforced it and its unit is unclear; the agent's default applies.
type limitsYAML struct {
	Time     any `yaml:"time"`
	HardTime any `yaml:"hard_time"`
	Memory   any `yaml:"memory"`
	Disk     any `yaml:"disk"`
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
	data, err := os.ReadFile(path)
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

// Parse reads task.yaml: environment_type, environment_id and
// environment_parameters (limits: time, hard_time, memory; network_grading;
// run_cmd), or the older top-level environment and limits.
func Parse(data []byte) (Spec, error) {
	var t taskYAML
	if err := yaml.Unmarshal(data, &t); err != nil {
		return Spec{}, fmt.Errorf("not a valid task.yaml: %w", err)
	}
	spec := Spec{
		EnvironmentType: firstNonEmpty(t.EnvironmentType, DefaultEnvironmentType),
		Environment:     firstNonEmpty(t.EnvironmentID, t.Environment, DefaultEnvironment),
		Problems:        t.Problems,
	}
	// The older top-level keys first, so that environment_parameters wins
	// when a file has both (INGInious converts the first into the second).
	older := envParamsYAML{Limits: t.Limits, NetworkGrading: t.NetworkGrading, RunCmd: t.RunCmd}
	for _, src := range []*envParamsYAML{&older, t.EnvironmentParameters} {
		if err := src.apply(&spec.Parameters); err != nil {
			return Spec{}, err
		}
	}
	return spec, nil
}

// apply sets what the file gives; absent keys leave p as it is.
func (e *envParamsYAML) apply(p *messages.EnvironmentParameters) error {
	if e == nil {
		return nil
	}
	if e.Limits != nil {
		if err := e.Limits.apply(&p.Limits); err != nil {
			return err
		}
	}
	if e.NetworkGrading != nil {
		p.NetworkGrading = *e.NetworkGrading
	}
	if e.RunCmd != nil {
		p.RunCmd = strings.TrimSpace(*e.RunCmd)
	}
	return nil
}

// apply sets the limits the file gives; absent ones stay as they are.
func (l *limitsYAML) apply(dst *messages.Limits) error {
	for _, f := range []struct {
		name  string
		value any
		set   func(float64)
	}{
		{"time", l.Time, func(v float64) { dst.Time = v }},
		{"hard_time", l.HardTime, func(v float64) { dst.HardTime = v }},
		{"memory", l.Memory, func(v float64) { dst.Memory = int64(math.Ceil(v)) }},
		{"disk", l.Disk, func(v float64) { dst.Disk = int64(math.Ceil(v)) }},
	} {
		if f.value == nil {
			continue
		}
		v, err := number(f.value)
		if err != nil {
			return fmt.Errorf("limits.%s: %w", f.name, err)
		}
		f.set(v)
	}
	return nil
}

// number reads a YAML number, or a string holding one ('30'); an empty
// string means "not set", as INGInious' editor writes it.
func number(v any) (float64, error) {
	var f float64
	switch n := v.(type) {
	case int:
		f = float64(n)
	case float64:
		f = n
	case string:
		s := strings.TrimSpace(n)
		if s == "" {
			return 0, nil
		}
		var err error
		if f, err = strconv.ParseFloat(s, 64); err != nil {
			return 0, fmt.Errorf("%q is not a number", n)
		}
	default:
		return 0, fmt.Errorf("%v is not a number", v)
	}
	if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%v is not a positive number", v)
	}
	return f, nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
