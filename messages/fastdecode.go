package messages

// The hand-written decoders of the messages every job crosses (see
// fastread.go for why, and for when they give up). Each reads a whole
// message after its tag head and returns ok=false where the reflective
// decoder must judge.

// fastDecoders holds, by registry index, the hand-written decoder of a
// message type, or nil.
var fastDecoders = func() []func([]byte) (Message, bool) {
	out := make([]func([]byte) (Message, bool), len(registry))
	out[indexClientNewJob] = decodeClientNewJob
	out[indexBackendNewJob] = decodeBackendNewJob
	out[indexAgentJobDone] = decodeAgentJobDone
	out[indexBackendJobDone] = decodeBackendJobDone
	out[indexBackendHistory] = decodeBackendHistory
	out[indexAck] = decodeAck
	out[indexAgentJobStarted] = decodeAgentJobStarted
	out[indexBackendJobQueued] = decodeBackendJobQueued
	out[indexBackendJobStarted] = decodeBackendJobStarted
	return out
}()

func decodeClientNewJob(b []byte) (Message, bool) {
	m := new(ClientNewJob)
	return m, fastStruct(b, &m.JobDescription, func(r *fastReader, k []byte, s *seen) (bool, bool) {
		switch string(k) {
		case "priority":
			return true, s.mark(10) && r.intInto(&m.Priority)
		case "launcher":
			return true, s.mark(11) && r.textInto(&m.Launcher)
		case "wait_for_environment":
			return true, s.mark(12) && r.boolInto(&m.WaitForEnvironment)
		case "frontend":
			return true, s.mark(13) && r.textInto(&m.Frontend)
		}
		return false, false
	})
}

func decodeBackendNewJob(b []byte) (Message, bool) {
	m := new(BackendNewJob)
	return m, fastStruct(b, &m.JobDescription, func(r *fastReader, k []byte, s *seen) (bool, bool) {
		switch string(k) {
		case "attempt":
			return true, s.mark(10) && r.intInto(&m.Attempt)
		case "seq":
			return true, s.mark(11) && r.uint64Into(&m.Seq)
		case "session":
			return true, s.mark(12) && r.textInto(&m.Session)
		case "client":
			return true, s.mark(13) && r.textInto(&m.Client)
		}
		return false, false
	})
}

func decodeAgentJobDone(b []byte) (Message, bool) {
	m := new(AgentJobDone)
	return m, fastResult(b, &m.JobResult, func(r *fastReader, k []byte, s *seen) (bool, bool) {
		switch string(k) {
		case "job_id":
			return true, s.mark(0) && r.textInto(&m.JobID)
		case "attempt":
			return true, s.mark(1) && r.intInto(&m.Attempt)
		}
		return false, false
	})
}

func decodeBackendJobDone(b []byte) (Message, bool) {
	m := new(BackendJobDone)
	return m, fastResult(b, &m.JobResult, func(r *fastReader, k []byte, s *seen) (bool, bool) {
		if string(k) == "job_id" {
			return true, s.mark(0) && r.textInto(&m.JobID)
		}
		return false, false
	})
}

// flatField is a field of a small message: its key, and where its text
// or its integer goes.
type flatField struct {
	key  string
	text *string
	num  *int
}

// fastFlat reads a map whose keys are among fields, each at most once.
func fastFlat(b []byte, fields ...flatField) bool {
	return fastWhole(b, func(r *fastReader, k []byte, s *seen) bool {
		for i, f := range fields {
			if string(k) != f.key {
				continue
			}
			if !s.mark(i) {
				return false
			}
			if f.text != nil {
				return r.textInto(f.text)
			}
			return r.intInto(f.num)
		}
		return false
	})
}

func decodeAck(b []byte) (Message, bool) {
	m := new(Ack)
	return m, fastFlat(b, flatField{key: "job_id", text: &m.JobID}, flatField{key: "attempt", num: &m.Attempt},
		flatField{key: "session", text: &m.Session})
}

func decodeAgentJobStarted(b []byte) (Message, bool) {
	m := new(AgentJobStarted)
	return m, fastFlat(b, flatField{key: "job_id", text: &m.JobID}, flatField{key: "attempt", num: &m.Attempt})
}

func decodeBackendJobQueued(b []byte) (Message, bool) {
	m := new(BackendJobQueued)
	return m, fastFlat(b, flatField{key: "job_id", text: &m.JobID})
}

func decodeBackendJobStarted(b []byte) (Message, bool) {
	m := new(BackendJobStarted)
	return m, fastFlat(b, flatField{key: "job_id", text: &m.JobID}, flatField{key: "agent", text: &m.Agent},
		flatField{key: "attempt", num: &m.Attempt})
}

// ownField decodes a message's own field named k: known says whether it
// is one, ok whether it decoded.
type ownField func(r *fastReader, k []byte, s *seen) (known, ok bool)

// fastMap reads a map each of whose keys field knows and decodes.
func fastMap(r *fastReader, field func(k []byte, s *seen) bool) bool {
	n, ok := r.length(5)
	if !ok {
		return false
	}
	var s seen
	for range n {
		k, ok := r.key()
		if !ok || !field(k, &s) {
			return false
		}
	}
	return true
}

// fastWhole reads a whole message: a map (fastMap) and nothing after it.
func fastWhole(b []byte, field func(r *fastReader, k []byte, s *seen) bool) bool {
	r := fastReader{b: b, free: MaxFreeFormItems}
	return fastMap(&r, func(k []byte, s *seen) bool { return field(&r, k, s) }) && len(r.b) == 0
}

// fastStruct reads a message made of a JobDescription and fields of its own.
func fastStruct(b []byte, d *JobDescription, own ownField) bool {
	return fastWhole(b, func(r *fastReader, k []byte, s *seen) bool {
		if known, ok := own(r, k, s); known {
			return ok
		}
		return r.descField(k, d, s)
	})
}

// fastResult reads a message made of a JobResult and fields of its own.
func fastResult(b []byte, res *JobResult, own ownField) bool {
	return fastWhole(b, func(r *fastReader, k []byte, s *seen) bool {
		if known, ok := own(r, k, s); known {
			return ok
		}
		return r.resultField(k, res, s)
	})
}

// descField decodes the JobDescription field named k (places 0-9 and 20
// in s).
func (r *fastReader) descField(k []byte, d *JobDescription, s *seen) bool {
	switch string(k) {
	case "job_id":
		return s.mark(0) && r.textInto(&d.JobID)
	case "course_id":
		return s.mark(1) && r.textInto(&d.CourseID)
	case "task_id":
		return s.mark(2) && r.textInto(&d.TaskID)
	case "task_bundle":
		return s.mark(3) && r.textInto(&d.TaskBundle)
	case "task_bundle_meta":
		return s.mark(20) && r.uint64Into(&d.TaskBundleMeta)
	case "task_problems":
		return s.mark(4) && r.freeMapInto(&d.TaskProblems)
	case "inputdata":
		return s.mark(5) && r.freeMapInto(&d.InputData)
	case "environment_type":
		return s.mark(6) && r.textInto(&d.EnvironmentType)
	case "environment":
		return s.mark(7) && r.textInto(&d.Environment)
	case "environment_parameters":
		return s.mark(8) && r.environmentParameters(&d.EnvironmentParameters)
	case "debug":
		return s.mark(9) && r.textInto((*string)(&d.Debug))
	}
	return false
}

func (r *fastReader) environmentParameters(p *EnvironmentParameters) bool {
	return fastMap(r, func(k []byte, s *seen) bool {
		switch string(k) {
		case "limits":
			return s.mark(0) && r.limits(&p.Limits)
		case "network_grading":
			return s.mark(1) && r.boolInto(&p.NetworkGrading)
		case "run_cmd":
			return s.mark(2) && r.textInto(&p.RunCmd)
		}
		return false
	})
}

func (r *fastReader) limits(l *Limits) bool {
	return fastMap(r, func(k []byte, s *seen) bool {
		switch string(k) {
		case "time":
			return s.mark(0) && r.floatInto(&l.Time)
		case "hard_time":
			return s.mark(1) && r.floatInto(&l.HardTime)
		case "memory":
			return s.mark(2) && r.int64Into(&l.Memory)
		case "processes":
			return s.mark(3) && r.int64Into(&l.Processes)
		case "output":
			return s.mark(4) && r.int64Into(&l.Output)
		case "disk":
			return s.mark(5) && r.int64Into(&l.Disk)
		}
		return false
	})
}

// resultField decodes the JobResult field named k (places 2-11 in s).
func (r *fastReader) resultField(k []byte, res *JobResult, s *seen) bool {
	switch string(k) {
	case "result":
		return s.mark(2) && r.result(&res.Result)
	case "grade":
		return s.mark(3) && r.floatInto(&res.Grade)
	case "problems":
		return s.mark(4) && r.problems(&res.Problems)
	case "tests":
		return s.mark(5) && r.freeMapInto(&res.Tests)
	case "custom":
		return s.mark(6) && r.freeMapInto(&res.Custom)
	case "state":
		return s.mark(7) && r.textInto(&res.State)
	case "archive":
		return s.mark(8) && r.bytesInto(&res.Archive)
	case "stdout":
		return s.mark(9) && r.textInto(&res.Stdout)
	case "stderr":
		return s.mark(10) && r.textInto(&res.Stderr)
	case "usage":
		res.Usage = new(Usage)
		return s.mark(11) && r.usage(res.Usage)
	}
	return false
}

func (r *fastReader) result(res *Result) bool {
	return fastMap(r, func(k []byte, s *seen) bool {
		switch string(k) {
		case "status":
			return s.mark(0) && r.textInto((*string)(&res.Status))
		case "text":
			return s.mark(1) && r.textInto(&res.Text)
		}
		return false
	})
}

func (r *fastReader) problems(dst *map[string]Result) (ok bool) {
	*dst, ok = keyedMap(r, func() (res Result, ok bool) { return res, r.result(&res) })
	return ok
}

func (r *fastReader) usage(u *Usage) bool {
	return fastMap(r, func(k []byte, s *seen) bool {
		switch string(k) {
		case "wall_time":
			return s.mark(0) && r.floatInto(&u.WallTime)
		case "cpu_time":
			return s.mark(1) && r.floatInto(&u.CPUTime)
		case "memory_peak":
			return s.mark(2) && r.floatInto(&u.MemoryPeak)
		case "students":
			u.Students = new(StudentUsage)
			return s.mark(3) && r.studentUsage(u.Students)
		}
		return false
	})
}

func (r *fastReader) studentUsage(u *StudentUsage) bool {
	return fastMap(r, func(k []byte, s *seen) bool {
		switch string(k) {
		case "containers":
			return s.mark(0) && r.intInto(&u.Containers)
		case "wall_time":
			return s.mark(1) && r.floatInto(&u.WallTime)
		case "cpu_time":
			return s.mark(2) && r.floatInto(&u.CPUTime)
		case "memory_peak":
			return s.mark(3) && r.floatInto(&u.MemoryPeak)
		}
		return false
	})
}

func (r *fastReader) textInto(dst *string) (ok bool) {
	*dst, ok = r.text()
	return ok
}

func (r *fastReader) intInto(dst *int) (ok bool) {
	*dst, ok = r.int()
	return ok
}

func (r *fastReader) int64Into(dst *int64) (ok bool) {
	*dst, ok = r.int64()
	return ok
}

func (r *fastReader) uint64Into(dst *uint64) (ok bool) {
	*dst, ok = r.uint64()
	return ok
}

func (r *fastReader) boolInto(dst *bool) (ok bool) {
	*dst, ok = r.bool()
	return ok
}

func (r *fastReader) floatInto(dst *float64) (ok bool) {
	*dst, ok = r.float()
	return ok
}

func (r *fastReader) bytesInto(dst *[]byte) (ok bool) {
	*dst, ok = r.bytes()
	return ok
}

func (r *fastReader) freeMapInto(dst *map[string]any) (ok bool) {
	*dst, ok = r.freeMap(1)
	return ok
}
