package messages

import (
	"cmp"
	"math"
	"slices"
	"sync"

	"github.com/x448/float16"
)

// The messages every job crosses are also encoded by hand, to the bytes
// the reflective encoder writes (its options in codec.go: map keys in
// core deterministic order, the shortest exact float, omitempty as the
// struct tags say). Where a value is one the hand-written path does not
// know (a free-form value of another Go type, a nil container inside one,
// NaN), it gives up and the reflective encoder encodes the whole message.
// FuzzDecode and the golden files hold the two to the same bytes.

// fastEncoders holds, by registry index, the hand-written encoder of a
// message type, or nil.
var fastEncoders = func() []func(*fastWriter, Message) {
	out := make([]func(*fastWriter, Message), len(registry))
	clientNewJob := structFields(append(descFields(func(m *ClientNewJob) *JobDescription { return &m.JobDescription }),
		field("priority", nil, func(w *fastWriter, m *ClientNewJob) { w.int(int64(m.Priority)) }),
		textField("launcher", func(m *ClientNewJob) string { return m.Launcher }, true),
		field("wait_for_environment", func(m *ClientNewJob) bool { return !m.WaitForEnvironment }, func(w *fastWriter, m *ClientNewJob) { w.bool(m.WaitForEnvironment) }),
		textField("frontend", func(m *ClientNewJob) string { return m.Frontend }, true),
	))
	backendNewJob := structFields(append(descFields(func(m *BackendNewJob) *JobDescription { return &m.JobDescription }),
		field("attempt", nil, func(w *fastWriter, m *BackendNewJob) { w.int(int64(m.Attempt)) }),
		field("seq", nil, func(w *fastWriter, m *BackendNewJob) { w.head(0, m.Seq) }),
		textField("session", func(m *BackendNewJob) string { return m.Session }, true),
		textField("client", func(m *BackendNewJob) string { return m.Client }, true),
	))
	agentJobDone := structFields(append(resultFields(func(m *AgentJobDone) *JobResult { return &m.JobResult }),
		textField("job_id", func(m *AgentJobDone) string { return m.JobID }, false),
		field("attempt", nil, func(w *fastWriter, m *AgentJobDone) { w.int(int64(m.Attempt)) }),
	))
	backendJobDone := structFields(append(resultFields(func(m *BackendJobDone) *JobResult { return &m.JobResult }),
		textField("job_id", func(m *BackendJobDone) string { return m.JobID }, false),
	))
	ack := structFields([]encField[Ack]{
		textField("job_id", func(m *Ack) string { return m.JobID }, true),
		intField("attempt", func(m *Ack) int64 { return int64(m.Attempt) }),
		textField("session", func(m *Ack) string { return m.Session }, true),
	})
	agentJobStarted := structFields([]encField[AgentJobStarted]{
		textField("job_id", func(m *AgentJobStarted) string { return m.JobID }, false),
		field("attempt", nil, func(w *fastWriter, m *AgentJobStarted) { w.int(int64(m.Attempt)) }),
	})
	backendJobQueued := []encField[BackendJobQueued]{
		textField("job_id", func(m *BackendJobQueued) string { return m.JobID }, false),
	}
	backendJobStarted := structFields([]encField[BackendJobStarted]{
		textField("job_id", func(m *BackendJobStarted) string { return m.JobID }, false),
		textField("agent", func(m *BackendJobStarted) string { return m.Agent }, true),
		intField("attempt", func(m *BackendJobStarted) int64 { return int64(m.Attempt) }),
	})
	out[indexClientNewJob] = func(w *fastWriter, m Message) { writeStruct(w, clientNewJob, m.(*ClientNewJob)) }
	out[indexBackendNewJob] = func(w *fastWriter, m Message) { writeStruct(w, backendNewJob, m.(*BackendNewJob)) }
	out[indexAgentJobDone] = func(w *fastWriter, m Message) { writeStruct(w, agentJobDone, m.(*AgentJobDone)) }
	out[indexBackendJobDone] = func(w *fastWriter, m Message) { writeStruct(w, backendJobDone, m.(*BackendJobDone)) }
	out[indexBackendHistory] = func(w *fastWriter, m Message) { writeStruct(w, historyFields, m.(*BackendHistory)) }
	out[indexAck] = func(w *fastWriter, m Message) { writeStruct(w, ack, m.(*Ack)) }
	out[indexAgentJobStarted] = func(w *fastWriter, m Message) { writeStruct(w, agentJobStarted, m.(*AgentJobStarted)) }
	out[indexBackendJobQueued] = func(w *fastWriter, m Message) { writeStruct(w, backendJobQueued, m.(*BackendJobQueued)) }
	out[indexBackendJobStarted] = func(w *fastWriter, m Message) { writeStruct(w, backendJobStarted, m.(*BackendJobStarted)) }
	return out
}()

var fastBuffers = sync.Pool{New: func() any { return &fastWriter{b: make([]byte, 0, 1024)} }}

// encodeFast encodes m, tag head first, by hand; false where it gave up.
func encodeFast(m Message, index int) ([]byte, bool) {
	enc := fastEncoders[index]
	if enc == nil {
		return nil, false
	}
	w := fastBuffers.Get().(*fastWriter)
	defer func() {
		if cap(w.b) > 64<<10 { // let an outsized buffer go
			w.b = make([]byte, 0, 1024)
		}
		fastBuffers.Put(w)
	}()
	w.b, w.ok = w.b[:0], true
	n := uint64(tagBase + index)
	w.b = append(w.b, 0xd9, byte(n>>8), byte(n))
	enc(w, m)
	if !w.ok {
		return nil, false
	}
	return slices.Clone(w.b), true
}

// fastWriter appends CBOR items to b; ok turns false where the hand-written
// path gives up.
type fastWriter struct {
	b  []byte
	ok bool
}

func (w *fastWriter) head(major byte, n uint64) { w.b = AppendHead(w.b, major, n) }

func (w *fastWriter) text(s string) {
	w.head(3, uint64(len(s)))
	w.b = append(w.b, s...)
}

func (w *fastWriter) bytes(p []byte) {
	w.head(2, uint64(len(p)))
	w.b = append(w.b, p...)
}

func (w *fastWriter) int(n int64) { w.b = AppendInt(w.b, n) }

func (w *fastWriter) bool(v bool) {
	if v {
		w.b = append(w.b, 0xf5)
		return
	}
	w.b = append(w.b, 0xf4)
}

// float writes f in the shortest width that holds it exactly, as the
// reflective encoder's ShortestFloat16 does.
func (w *fastWriter) float(f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		w.ok = false // the reflective encoder refuses them, and says so
		return
	}
	f32 := float32(f)
	if float64(f32) != f {
		w.b = append(w.b, 0xfb)
		w.b = appendUint(w.b, math.Float64bits(f), 8)
		return
	}
	p := float16.PrecisionFromfloat32(f32)
	f16 := float16.Fromfloat32(f32)
	if p == float16.PrecisionExact || (p == float16.PrecisionUnknown && f16.Float32() == f32) {
		w.b = append(w.b, 0xf9)
		w.b = appendUint(w.b, uint64(f16), 2)
		return
	}
	w.b = append(w.b, 0xfa)
	w.b = appendUint(w.b, uint64(math.Float32bits(f32)), 4)
}

func appendUint(b []byte, v uint64, size int) []byte {
	for i := size - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// keyOrder is the core deterministic order of text keys: shorter first,
// then bytewise (the order of their encodings).
func keyOrder(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}

// sortedKeys appends the keys of m to buf in keyOrder.
func sortedKeys[V any](m map[string]V, buf []string) []string {
	for k := range m {
		buf = append(buf, k)
	}
	slices.SortFunc(buf, keyOrder)
	return buf
}

// freeMap writes a free-form map with its keys in order.
func (w *fastWriter) freeMap(m map[string]any, depth int) {
	if m == nil || depth > fastMaxDepth {
		w.ok = false
		return
	}
	w.head(5, uint64(len(m)))
	var small [16]string
	for _, k := range sortedKeys(m, small[:0]) {
		w.text(k)
		w.freeValue(m[k], depth+1)
		if !w.ok {
			return
		}
	}
}

func (w *fastWriter) freeValue(v any, depth int) {
	switch v := v.(type) {
	case nil:
		w.b = append(w.b, 0xf6)
	case string:
		w.text(v)
	case bool:
		w.bool(v)
	case int64:
		w.int(v)
	case int:
		w.int(int64(v))
	case float64:
		w.float(v)
	case []byte:
		if v == nil {
			w.ok = false
			return
		}
		w.bytes(v)
	case []any:
		if v == nil || depth > fastMaxDepth {
			w.ok = false
			return
		}
		w.head(4, uint64(len(v)))
		for _, e := range v {
			w.freeValue(e, depth+1)
		}
	case map[string]any:
		w.freeMap(v, depth)
	default:
		w.ok = false
	}
}
