package messages

import "slices"

// encField is one field of a struct the hand-written encoder writes: its
// key, whether it is left out (omitempty; nil when never), and its value.
type encField[T any] struct {
	key  string
	omit func(*T) bool
	val  func(*fastWriter, *T)
}

func field[T any](key string, omit func(*T) bool, val func(*fastWriter, *T)) encField[T] {
	return encField[T]{key: key, omit: omit, val: val}
}

// structFields puts fields in the order the reflective encoder writes
// them: by key, shorter first (keyOrder).
func structFields[T any](fields []encField[T]) []encField[T] {
	slices.SortFunc(fields, func(a, b encField[T]) int { return keyOrder(a.key, b.key) })
	return fields
}

// writeStruct writes the fields of m that are not left out, as a map.
func writeStruct[T any](w *fastWriter, fields []encField[T], m *T) {
	n := 0
	for _, f := range fields {
		if f.omit == nil || !f.omit(m) {
			n++
		}
	}
	w.head(5, uint64(n))
	for _, f := range fields {
		if f.omit != nil && f.omit(m) {
			continue
		}
		w.text(f.key)
		f.val(w, m)
	}
}

// descFields are a JobDescription's fields, in a message that embeds it.
func descFields[T any](d func(*T) *JobDescription) []encField[T] {
	text := func(key string, s func(*JobDescription) string, omitEmpty bool) encField[T] {
		return textField(key, func(m *T) string { return s(d(m)) }, omitEmpty)
	}
	free := func(key string, v func(*JobDescription) map[string]any) encField[T] {
		return freeField(key, func(m *T) map[string]any { return v(d(m)) })
	}
	return []encField[T]{
		text("job_id", func(d *JobDescription) string { return d.JobID }, false),
		text("course_id", func(d *JobDescription) string { return d.CourseID }, true),
		text("task_id", func(d *JobDescription) string { return d.TaskID }, true),
		text("task_bundle", func(d *JobDescription) string { return d.TaskBundle }, true),
		field("task_bundle_meta", func(m *T) bool { return d(m).TaskBundleMeta == 0 }, func(w *fastWriter, m *T) { w.head(0, d(m).TaskBundleMeta) }),
		free("task_problems", func(d *JobDescription) map[string]any { return d.TaskProblems }),
		free("inputdata", func(d *JobDescription) map[string]any { return d.InputData }),
		text("environment_type", func(d *JobDescription) string { return d.EnvironmentType }, false),
		text("environment", func(d *JobDescription) string { return d.Environment }, false),
		field("environment_parameters", nil, func(w *fastWriter, m *T) { writeStruct(w, envParamFields, &d(m).EnvironmentParameters) }),
		text("debug", func(d *JobDescription) string { return string(d.Debug) }, true),
	}
}

var envParamFields = structFields([]encField[EnvironmentParameters]{
	field("limits", nil, func(w *fastWriter, p *EnvironmentParameters) { writeStruct(w, limitFields, &p.Limits) }),
	field("network_grading", func(p *EnvironmentParameters) bool { return !p.NetworkGrading },
		func(w *fastWriter, p *EnvironmentParameters) { w.bool(p.NetworkGrading) }),
	textField("run_cmd", func(p *EnvironmentParameters) string { return p.RunCmd }, true),
})

var limitFields = structFields([]encField[Limits]{
	floatField("time", func(l *Limits) float64 { return l.Time }),
	floatField("hard_time", func(l *Limits) float64 { return l.HardTime }),
	intField("memory", func(l *Limits) int64 { return l.Memory }),
	intField("processes", func(l *Limits) int64 { return l.Processes }),
	intField("output", func(l *Limits) int64 { return l.Output }),
	intField("disk", func(l *Limits) int64 { return l.Disk }),
})

// textField is a text field, left out when empty if omitEmpty.
func textField[T any](key string, s func(*T) string, omitEmpty bool) encField[T] {
	var omit func(*T) bool
	if omitEmpty {
		omit = func(m *T) bool { return s(m) == "" }
	}
	return field(key, omit, func(w *fastWriter, m *T) { w.text(s(m)) })
}

// freeField is an omitempty free-form map.
func freeField[T any](key string, v func(*T) map[string]any) encField[T] {
	return field(key, func(m *T) bool { return len(v(m)) == 0 }, func(w *fastWriter, m *T) { w.freeMap(v(m), 1) })
}

// floatField and intField are omitempty numbers.
func floatField[T any](key string, v func(*T) float64) encField[T] {
	return field(key, func(m *T) bool { return v(m) == 0 }, func(w *fastWriter, m *T) { w.float(v(m)) })
}

func intField[T any](key string, v func(*T) int64) encField[T] {
	return field(key, func(m *T) bool { return v(m) == 0 }, func(w *fastWriter, m *T) { w.int(v(m)) })
}

// resultFields are a JobResult's fields, in a message that embeds it.
func resultFields[T any](r func(*T) *JobResult) []encField[T] {
	text := func(key string, s func(*JobResult) string) encField[T] {
		return textField(key, func(m *T) string { return s(r(m)) }, true)
	}
	free := func(key string, v func(*JobResult) map[string]any) encField[T] {
		return freeField(key, func(m *T) map[string]any { return v(r(m)) })
	}
	return []encField[T]{
		field("result", nil, func(w *fastWriter, m *T) { writeStruct(w, resultPairFields, &r(m).Result) }),
		field("grade", nil, func(w *fastWriter, m *T) { w.float(r(m).Grade) }),
		field("problems", func(m *T) bool { return len(r(m).Problems) == 0 }, func(w *fastWriter, m *T) { w.problems(r(m).Problems) }),
		free("tests", func(r *JobResult) map[string]any { return r.Tests }),
		free("custom", func(r *JobResult) map[string]any { return r.Custom }),
		text("state", func(r *JobResult) string { return r.State }),
		field("archive", func(m *T) bool { return len(r(m).Archive) == 0 }, func(w *fastWriter, m *T) { w.bytes(r(m).Archive) }),
		text("stdout", func(r *JobResult) string { return r.Stdout }),
		text("stderr", func(r *JobResult) string { return r.Stderr }),
		field("usage", func(m *T) bool { return r(m).Usage == nil }, func(w *fastWriter, m *T) { writeStruct(w, usageFields, r(m).Usage) }),
	}
}

var resultPairFields = structFields([]encField[Result]{
	textField("status", func(r *Result) string { return string(r.Status) }, false),
	textField("text", func(r *Result) string { return r.Text }, false),
})

var usageFields = structFields([]encField[Usage]{
	floatField("wall_time", func(u *Usage) float64 { return u.WallTime }),
	floatField("cpu_time", func(u *Usage) float64 { return u.CPUTime }),
	floatField("memory_peak", func(u *Usage) float64 { return u.MemoryPeak }),
	field("students", func(u *Usage) bool { return u.Students == nil }, func(w *fastWriter, u *Usage) { writeStruct(w, studentUsageFields, u.Students) }),
})

var studentUsageFields = structFields([]encField[StudentUsage]{
	field("containers", nil, func(w *fastWriter, u *StudentUsage) { w.int(int64(u.Containers)) }),
	floatField("wall_time", func(u *StudentUsage) float64 { return u.WallTime }),
	floatField("cpu_time", func(u *StudentUsage) float64 { return u.CPUTime }),
	floatField("memory_peak", func(u *StudentUsage) float64 { return u.MemoryPeak }),
})

// problems writes the per-problem results with their ids in order.
func (w *fastWriter) problems(p map[string]Result) {
	w.head(5, uint64(len(p)))
	var small [16]string
	for _, k := range sortedKeys(p, small[:0]) {
		w.text(k)
		r := p[k]
		writeStruct(w, resultPairFields, &r)
	}
}

// The registry indexes of the message types with hand-written codecs.
var (
	indexClientNewJob   = registryIndex[*ClientNewJob]()
	indexBackendNewJob  = registryIndex[*BackendNewJob]()
	indexAgentJobDone   = registryIndex[*AgentJobDone]()
	indexBackendJobDone = registryIndex[*BackendJobDone]()
	indexBackendHistory = registryIndex[*BackendHistory]()
	// The small ones: each job crosses several (its queued, started and
	// acks), and the reflective codec's fixed cost per message is most of
	// what they cost.
	indexAck               = registryIndex[*Ack]()
	indexAgentJobStarted   = registryIndex[*AgentJobStarted]()
	indexBackendJobQueued  = registryIndex[*BackendJobQueued]()
	indexBackendJobStarted = registryIndex[*BackendJobStarted]()
)

// hotIndex is the registry index of a message type that has hand-written
// codecs, or -1.
func hotIndex(m Message) int {
	switch m.(type) {
	case *ClientNewJob:
		return indexClientNewJob
	case *BackendNewJob:
		return indexBackendNewJob
	case *AgentJobDone:
		return indexAgentJobDone
	case *BackendJobDone:
		return indexBackendJobDone
	case *BackendHistory:
		return indexBackendHistory
	case *Ack:
		return indexAck
	case *AgentJobStarted:
		return indexAgentJobStarted
	case *BackendJobQueued:
		return indexBackendJobQueued
	case *BackendJobStarted:
		return indexBackendJobStarted
	}
	return -1
}
