package journal

import (
	"math"
	"slices"

	"github.com/ingo-grader/ingo/messages"
)

// appendRecord writes r as the reflective encoder does (encMode: integer
// keys in order, empty fields left out), by hand: the backend encodes
// three records a job, and the reflective encoder spent most of that
// finding fields. ok is false for a NaN or infinite MaxTime, which the
// reflective encoder writes in forms of its own; Encode then uses it.
// codec_test.go holds the two to the same bytes.
func appendRecord(out []byte, r *record) ([]byte, bool) {
	n := 2 // V and Kind are always there
	for _, set := range []bool{r.JobID != "", r.At != 0, r.ClientID != "", r.Seq != 0, r.AgentID != "",
		r.Attempt != 0, r.AgentSeq != 0, r.DispatchSeq != 0, r.Reason != "", len(r.Job) > 0, len(r.Result) > 0, r.Head != nil} {
		if set {
			n++
		}
	}
	out = messages.AppendHead(out, 5, uint64(n))
	out = messages.AppendInt(append(out, 0), int64(r.V))
	out = messages.AppendInt(append(out, 1), int64(r.Kind))
	out = appendText(out, 2, r.JobID)
	if r.At != 0 {
		out = messages.AppendInt(append(out, 3), r.At)
	}
	out = appendText(out, 4, r.ClientID)
	out = appendUint(out, 5, r.Seq)
	out = appendText(out, 6, r.AgentID)
	if r.Attempt != 0 {
		out = messages.AppendInt(append(out, 7), int64(r.Attempt))
	}
	out = appendUint(out, 8, r.AgentSeq)
	out = appendUint(out, 9, r.DispatchSeq)
	out = appendText(out, 10, r.Reason)
	if len(r.Job) > 0 {
		out = messages.AppendHead(append(out, 11), 2, uint64(len(r.Job)))
		out = append(out, r.Job...)
	}
	if len(r.Result) > 0 {
		out = messages.AppendHead(append(out, 12), 2, uint64(len(r.Result)))
		out = append(out, r.Result...)
	}
	if h := r.Head; h != nil {
		if math.IsNaN(h.MaxTime) || math.IsInf(h.MaxTime, 0) {
			return nil, false // the reflective encoder's own forms
		}
		m := 2
		for _, set := range []bool{h.CourseID != "", h.TaskID != "", h.User != "", h.Launcher != "", h.Priority != 0, h.MaxTime != 0, h.Wait, h.Frontend != "", h.SSH} {
			if set {
				m++
			}
		}
		out = messages.AppendHead(append(out, 13), 5, uint64(m))
		out = appendText(out, 0, h.CourseID)
		out = appendText(out, 1, h.TaskID)
		out = appendText(out, 2, h.User)
		out = appendText(out, 3, h.Launcher)
		out = messages.AppendHead(append(out, 4), 3, uint64(len(h.EnvironmentType)))
		out = append(out, h.EnvironmentType...)
		out = messages.AppendHead(append(out, 5), 3, uint64(len(h.Environment)))
		out = append(out, h.Environment...)
		if h.Priority != 0 {
			out = messages.AppendInt(append(out, 6), int64(h.Priority))
		}
		if h.MaxTime != 0 {
			out = append(out, 7, 0xfb)
			bits := math.Float64bits(h.MaxTime)
			for i := 7; i >= 0; i-- {
				out = append(out, byte(bits>>(8*i)))
			}
		}
		if h.Wait {
			out = append(out, 8, 0xf5)
		}
		out = appendText(out, 9, h.Frontend)
		if h.SSH {
			out = append(out, 10, 0xf5)
		}
	}
	return out, true
}

// appendText and appendUint write key and value when the value is set
// (omitempty). A float is always eight bytes (encMode has no shortest
// form).
func appendText(out []byte, key byte, s string) []byte {
	if s == "" {
		return out
	}
	out = messages.AppendHead(append(out, key), 3, uint64(len(s)))
	return append(out, s...)
}

func appendUint(out []byte, key byte, v uint64) []byte {
	if v == 0 {
		return out
	}
	return messages.AppendHead(append(out, key), 0, v)
}

// encodeRecord is the record's wire form, by hand where it can be.
func encodeRecord(r *record) ([]byte, error) {
	size := 64 + len(r.JobID) + len(r.ClientID) + len(r.AgentID) + len(r.Reason) + len(r.Job) + len(r.Result)
	if r.Head != nil {
		size += 32 + len(r.Head.CourseID) + len(r.Head.TaskID) + len(r.Head.User) + len(r.Head.Launcher) + len(r.Head.EnvironmentType) + len(r.Head.Environment) + len(r.Head.Frontend)
	}
	if out, ok := appendRecord(make([]byte, 0, size), r); ok {
		return slices.Clip(out), nil
	}
	return encMode.Marshal(r)
}
