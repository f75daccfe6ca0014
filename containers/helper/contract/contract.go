package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/ingo-grader/ingo/containers/channel"
)

// Fixed paths inside a grading container (see the package documentation).
const (
	TaskDir    = "/task"
	StudentDir = "/task/student"
	IngoDir    = "/.ingo"
	// CourseDir holds common/, the course's common files (INGInious'
	// $common), when the task has some.
	CourseDir  = "/course"
	CommonDir  = "/course/common"
	ArchiveDir = "/archive"

	InputFile    = "/.ingo/input.json"
	ResultFile   = "/.ingo/result.json"
	FeedbackFile = "/.ingo/feedback.json"
	// FilesDir holds the uploaded files, one directory per problem id.
	FilesDir = "/.ingo/files"
	// InputDataFile is the input as INGInious' agent gives it to its
	// containers (/.__input/__inputdata.json, which the images link here):
	// run files written for INGInious read it directly.
	InputDataFile = "/.ingo/__input/__inputdata.json"

	// PassEnv names, space-separated, variables of the image's environment
	// that reach the run file besides the fixed ones (e.g. "JAVA_HOME").
	PassEnv = "INGO_PASS_ENV"

	// StudentSpecEnv carries a student container's spec (channel.StudentSpec
	// as JSON) when `ingo-helper student` has no argument: the runtime puts
	// it in the container's environment, not its command line, because
	// /proc/1/cmdline is readable by every process of the container, the
	// student's code and SSH session included, and the spec holds
	// ssh_student's setup and teardown scripts, which INGInious never
	// shows the student. /proc/1/environ of the helper, which is not
	// dumpable, is not readable by them; the command gets a clean
	// environment without it.
	StudentSpecEnv = "INGO_STUDENT_SPEC"

	// DefaultOutputLimit is used when input.json gives no limits.output.
	DefaultOutputLimit = 1 << 20
)

// Statuses a result may carry (INGInious' set).
const (
	StatusSuccess  = "success"
	StatusFailed   = "failed"
	StatusError    = "error"
	StatusCrash    = "crash"
	StatusTimeout  = "timeout"
	StatusOverflow = "overflow"
	StatusKilled   = "killed"
)

// Input is /.ingo/input.json, written by the runtime before the container
// starts. Unknown fields are ignored so the runtime may add some.
type Input struct {
	// Input is INGInious' inputdata: problem id -> string, list of strings,
	// or an uploaded file {"filename": "...", "value": "<base64>"}; plus
	// "@username", "@lang", "@state" and the other "@" keys.
	Input map[string]json.RawMessage `json:"input"`
	// Limits are the job's effective limits; the helper uses Output.
	Limits Limits `json:"limits"`
	// Debug is "", "debug" or "ssh".
	Debug string `json:"debug,omitempty"`
	// RunCmd, when set, replaces the run file discovery.
	RunCmd string `json:"run_cmd,omitempty"`
	// SSH bounds the SSH server of debug "ssh" (defaults when absent).
	SSH *channel.SSHLimits `json:"ssh,omitempty"`
}

// Limits mirrors messages.Limits (same JSON names), copied here so that the
// helper binary stays free of the wire codec.
type Limits struct {
	Time      float64 `json:"time,omitempty"`
	HardTime  float64 `json:"hard_time,omitempty"`
	Memory    int64   `json:"memory,omitempty"`
	Processes int64   `json:"processes,omitempty"`
	// Output is in bytes; see the package documentation for what it bounds.
	Output int64 `json:"output,omitempty"`
	Disk   int64 `json:"disk,omitempty"`
}

// OutputLimit is Limits.Output, or DefaultOutputLimit when unset.
func (l Limits) OutputLimit() int64 {
	if l.Output > 0 {
		return l.Output
	}
	return DefaultOutputLimit
}

// Result is /.ingo/result.json, written once by `ingo-helper run`.
type Result struct {
	Result   string                     `json:"result"`
	Text     string                     `json:"text"`
	Grade    float64                    `json:"grade"`
	Problems map[string]ProblemResult   `json:"problems"`
	Tests    map[string]json.RawMessage `json:"tests"`
	Custom   map[string]json.RawMessage `json:"custom"`
	State    string                     `json:"state"`
	// Archive is a base64 (standard, padded) gzipped tar, or empty when
	// there is none; the key is then absent.
	Archive   string   `json:"archive,omitempty"`
	Stdout    string   `json:"stdout"`
	Stderr    string   `json:"stderr"`
	Truncated []string `json:"truncated"`
	ExitCode  int      `json:"exit_code"`
}

// ProblemResult is one problem's feedback. Status is "" when the run file
// gave the problem a text only.
type ProblemResult struct {
	Status string `json:"status"`
	Text   string `json:"text"`
}

// Names used in Result.Truncated.
const (
	CutStdout   = "stdout"
	CutStderr   = "stderr"
	CutText     = "text"
	CutProblems = "problems"
	CutFeedback = "feedback"
	CutArchive  = "archive"
)

// MaxResultBytes bounds the size of result.json for an output limit (bytes):
// a runtime may refuse to read more. Four pieces of at most limit bytes each
// (stdout, stderr, all feedback texts, the rest of the feedback), an archive
// of at most limit bytes (base64: 4/3), and fixed overhead; doubled margin.
func MaxResultBytes(outputLimit int64) int64 {
	if outputLimit <= 0 {
		outputLimit = DefaultOutputLimit
	}
	return 8*outputLimit + 64<<10
}

// ParseOOMKills finds the value of the "oom_kill" key in the "key value"
// lines of a memory cgroup's memory.oom_control (v1) or memory.events
// (v2): the runtime reads a grading container's, the student helper its
// own container's, and both must read it alike. It allocates nothing
// unless it fails: the student helper parses the count when its
// container's memory may be full (see the helper's oomCounter).
func ParseOOMKills[T string | []byte](data T) (int64, error) {
	const key = "oom_kill "
	for len(data) > 0 {
		end, next := len(data), len(data)
		for i := 0; i < len(data); i++ {
			if data[i] == '\n' {
				end, next = i, i+1
				break
			}
		}
		line := data[:end]
		data = data[next:]
		if len(line) < len(key) || !hasKey(line[:len(key)], key) {
			continue
		}
		v := line[len(key):]
		for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
			v = v[1:]
		}
		for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t' || v[len(v)-1] == '\r') {
			v = v[:len(v)-1]
		}
		if len(v) == 0 || len(v) > 18 {
			return 0, fmt.Errorf("oom_kill %q: not a count", string(v))
		}
		var n int64
		for i := 0; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return 0, fmt.Errorf("oom_kill %q: not a count", string(v))
			}
			n = n*10 + int64(v[i]-'0')
		}
		return n, nil
	}
	return 0, fmt.Errorf("no oom_kill line (a kernel before 4.13?)")
}

func hasKey[T string | []byte](b T, key string) bool {
	for i := 0; i < len(key); i++ {
		if b[i] != key[i] {
			return false
		}
	}
	return true
}

// DecodeValues decodes the values of result.json's "tests" and "custom"
// as INGInious' webapp receives them from a Python grader: a number
// written without a decimal point or an exponent (7, -2) is an int64, any
// other (3.0, 1e3, 2.5) a float64, at any depth. encoding/json alone would
// make every number a float64, and the webapp would get 7.0 for the 7 a
// run file set (a line number, a count). An integer beyond int64 is a
// float64, as it cannot travel otherwise.
func DecodeValues(m map[string]json.RawMessage) (map[string]any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(m))
	for k, raw := range m {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%q: %w", k, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%q: more than one JSON value", k)
		}
		n, err := numbers(v)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", k, err)
		}
		out[k] = n
	}
	return out, nil
}

// numbers replaces the json.Numbers of v, in place where it can.
func numbers(v any) (any, error) {
	switch t := v.(type) {
	case json.Number:
		s := string(t)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i, nil
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("number %s: %w", s, err)
		}
		return f, nil
	case []any:
		for i, e := range t {
			n, err := numbers(e)
			if err != nil {
				return nil, err
			}
			t[i] = n
		}
	case map[string]any:
		for k, e := range t {
			n, err := numbers(e)
			if err != nil {
				return nil, err
			}
			t[k] = n
		}
	}
	return v, nil
}
