package fake

import (
	"fmt"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// behaviour is what "@fake" asks of one job.
type behaviour struct {
	status     messages.Status
	grade      *float64
	text       string
	problems   map[string]messages.Result
	state      string
	custom     map[string]any
	sleep      time.Duration
	hang       bool
	blockStart bool
	crash      string
	failure    string
	oom        bool
	timeout    bool
	ssh        bool
	// stdout and stderr stand for the grader's output, which a runtime
	// returns in debug mode only.
	stdout, stderr string
}

// parseBehaviour reads input["@fake"]. Values come either from CBOR
// (int64, uint64, float64) or from Go tests (int, float64...).
func parseBehaviour(input map[string]any) (behaviour, error) {
	b := behaviour{status: messages.StatusSuccess}
	raw, ok := input["@fake"]
	if !ok {
		return b, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return b, fmt.Errorf("@fake is a %T, not a map", raw)
	}
	for key, v := range m {
		var err error
		switch key {
		case "result":
			var s string
			s, err = asString(v)
			b.status = messages.Status(s)
			if err == nil && !b.status.Valid() {
				err = fmt.Errorf("unknown status %q", s)
			}
		case "grade":
			var g float64
			g, err = asFloat(v)
			b.grade = &g
		case "text":
			b.text, err = asString(v)
		case "state":
			b.state, err = asString(v)
		case "problems":
			b.problems, err = asProblems(v)
		case "custom":
			var ok bool
			if b.custom, ok = v.(map[string]any); !ok {
				err = fmt.Errorf("a %T, not a map", v)
			}
		case "sleep":
			var s string
			if s, err = asString(v); err == nil {
				b.sleep, err = time.ParseDuration(s)
			}
		case "hang":
			b.hang, err = asBool(v)
		case "block_start":
			b.blockStart, err = asBool(v)
		case "crash":
			b.crash, err = asString(v)
		case "failure":
			b.failure, err = asString(v)
		case "oom":
			b.oom, err = asBool(v)
		case "timeout":
			b.timeout, err = asBool(v)
		case "ssh":
			b.ssh, err = asBool(v)
		case "stdout":
			b.stdout, err = asString(v)
		case "stderr":
			b.stderr, err = asString(v)
		default:
			err = fmt.Errorf("unknown key")
		}
		if err != nil {
			return b, fmt.Errorf("@fake %q: %w", key, err)
		}
	}
	return b, nil
}

func asString(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", fmt.Errorf("a %T, not a string", v)
}

func asBool(v any) (bool, error) {
	if b, ok := v.(bool); ok {
		return b, nil
	}
	return false, fmt.Errorf("a %T, not a bool", v)
}

func asFloat(v any) (float64, error) {
	switch n := v.(type) {
	case float64:
		return n, nil
	case float32:
		return float64(n), nil
	case int:
		return float64(n), nil
	case int64:
		return float64(n), nil
	case uint64:
		return float64(n), nil
	}
	return 0, fmt.Errorf("a %T, not a number", v)
}

func asProblems(v any) (map[string]messages.Result, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("a %T, not a map", v)
	}
	out := make(map[string]messages.Result, len(m))
	for pid, pv := range m {
		p, ok := pv.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("problem %q: a %T, not a map", pid, pv)
		}
		status, _ := p["status"].(string)
		text, _ := p["text"].(string)
		if !messages.Status(status).Valid() {
			return nil, fmt.Errorf("problem %q: unknown status %q", pid, status)
		}
		out[pid] = messages.Result{Status: messages.Status(status), Text: text}
	}
	return out, nil
}
