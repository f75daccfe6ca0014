package bridge

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/ingo-grader/ingo/internal/pyrepr"
)

// typeKey names a message's type in its map, as INGInious' messages.dump.
const typeKey = "@type"

// Messages from the webapp. Fields are INGInious' (inginious/common/
// messages.py); msgpack tags name them.
type clientHello struct {
	Name string `msgpack:"name"`
}

type clientNewJob struct {
	JobID    string `msgpack:"job_id"`
	Priority int    `msgpack:"priority"`
	// CourseID is INGInious' newer name, TasksetID the older one.
	CourseID              *string        `msgpack:"course_id"`
	TasksetID             *string        `msgpack:"taskset_id"`
	TaskID                *string        `msgpack:"task_id"`
	TaskProblems          map[string]any `msgpack:"task_problems"`
	InputData             map[string]any `msgpack:"inputdata"`
	EnvironmentType       string         `msgpack:"environment_type"`
	Environment           string         `msgpack:"environment"`
	EnvironmentParameters map[string]any `msgpack:"environment_parameters"`
	Debug                 any            `msgpack:"debug"`
	Launcher              string         `msgpack:"launcher"`
}

type clientKillJob struct {
	JobID string `msgpack:"job_id"`
}

// Messages to the webapp, fields in INGInious' order (dataclass order,
// then "@type", as asdict and dump produce them).
type backendUpdateEnvironments struct {
	AvailableEnvironments map[string][]string `msgpack:"available_environments"`
	Type                  string              `msgpack:"@type"`
}

type backendJobStarted struct {
	JobID string `msgpack:"job_id"`
	Type  string `msgpack:"@type"`
}

// backendJobDone's Problems holds, per problem, a (status, text) pair or,
// for a problem the grader gave feedback but no result, the bare text (see
// problemFeedback).
type backendJobDone struct {
	JobID    string         `msgpack:"job_id"`
	Result   [2]string      `msgpack:"result"`
	Grade    float64        `msgpack:"grade"`
	Problems map[string]any `msgpack:"problems"`
	Tests    map[string]any `msgpack:"tests"`
	Custom   map[string]any `msgpack:"custom"`
	State    string         `msgpack:"state"`
	Archive  []byte         `msgpack:"archive"`
	Stdout   *string        `msgpack:"stdout"`
	Stderr   *string        `msgpack:"stderr"`
	Type     string         `msgpack:"@type"`
}

type backendJobSSHDebug struct {
	JobID    string `msgpack:"job_id"`
	Host     string `msgpack:"host"`
	Port     int    `msgpack:"port"`
	User     string `msgpack:"user"`
	Password string `msgpack:"password"`
	Type     string `msgpack:"@type"`
}

type backendGetQueue struct {
	// (job_id, is_current_client_job, agent_name, info, launcher,
	// started_at, max_time)
	JobsRunning [][]any `msgpack:"jobs_running"`
	// (job_id, is_current_client_job, info, launcher, max_time)
	JobsWaiting [][]any `msgpack:"jobs_waiting"`
	Type        string  `msgpack:"@type"`
}

type empty struct {
	Type string `msgpack:"@type"`
}

// Message type names.
const (
	tClientHello     = "ClientHello"
	tClientNewJob    = "ClientNewJob"
	tClientKillJob   = "ClientKillJob"
	tClientGetQueue  = "ClientGetQueue"
	tPing            = "Ping"
	tUpdateEnvs      = "BackendUpdateEnvironments"
	tJobStarted      = "BackendJobStarted"
	tJobDone         = "BackendJobDone"
	tJobSSHDebug     = "BackendJobSSHDebug"
	tGetQueue        = "BackendGetQueue"
	tPong            = "Pong"
	tUnknown         = "Unknown"
	maxNesting       = 64
	errTextBadFormat = "not an INGInious message"
)

// errBadMessage is a frame that is not an INGInious message.
var errBadMessage = errors.New(errTextBadFormat)

// decode reads a frame of at most limit bytes: its type, and the message
// decoded into the matching struct (nil for messages without fields).
func decode(frame []byte, limit int64) (string, any, error) {
	if int64(len(frame)) > limit {
		return "", nil, fmt.Errorf("%w: %d bytes", errBadMessage, len(frame))
	}
	if err := checkDepth(frame, maxNesting); err != nil {
		return "", nil, fmt.Errorf("%w: %w", errBadMessage, err)
	}
	var head map[string]any
	if err := unmarshal(frame, &head); err != nil {
		return "", nil, fmt.Errorf("%w: %w", errBadMessage, err)
	}
	typ, ok := head[typeKey].(string)
	if !ok {
		return "", nil, fmt.Errorf("%w: no %q", errBadMessage, typeKey)
	}
	var v any
	switch typ {
	case tClientHello:
		v = &clientHello{}
	case tClientNewJob:
		v = &clientNewJob{}
	case tClientKillJob:
		v = &clientKillJob{}
	case tClientGetQueue, tPing:
		return typ, nil, nil
	default:
		return typ, nil, nil
	}
	if err := unmarshal(frame, v); err != nil {
		return typ, nil, fmt.Errorf("%w: %s: %w", errBadMessage, typ, err)
	}
	return typ, v, nil
}

// unmarshal decodes frame into v as msgpack.Unmarshal does, except that
// a map inside a free-form value may have keys of any type, made strings as
// Python's str makes them: the webapp sends task.yaml's problems as YAML
// read them, and a YAML key such as 2 (the network-trace plugin's
// "exclude: {2: [dns.id]}" in cnp3's courses) is an int there. Refused,
// such a job was never answered.
func unmarshal(frame []byte, v any) error {
	dec := msgpack.NewDecoder(bytes.NewReader(frame))
	dec.UsePreallocateValues(true)
	dec.SetMapDecoder(decodeAnyKeyMap)
	return dec.Decode(v)
}

func decodeAnyKeyMap(d *msgpack.Decoder) (any, error) {
	n, err := d.DecodeMapLen()
	if err != nil || n == -1 {
		return nil, err
	}
	m := make(map[string]any, min(n, 64))
	for range n {
		k, err := d.DecodeInterface()
		if err != nil {
			return nil, err
		}
		v, err := d.DecodeInterface()
		if err != nil {
			return nil, err
		}
		m[pyStr(k)] = v
	}
	return m, nil
}

// pyStr is Python's str of a msgpack map key (bin as its text).
func pyStr(k any) string {
	if b, ok := k.([]byte); ok {
		return string(b)
	}
	return pyrepr.Key(k)
}

// encode writes a message as INGInious' dump does: a map, str for
// strings, bin for bytes, the smallest int encoding.
func encode(m any) ([]byte, error) {
	var b bytes.Buffer
	enc := msgpack.NewEncoder(&b)
	enc.UseCompactInts(true)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
