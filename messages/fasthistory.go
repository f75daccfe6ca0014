package messages

// The job history encodes a record per finished job and every backend
// reads them back when it starts (backend/history): BackendHistory has
// hand-written codecs too, on the same terms as the job's messages
// (fastread.go, fastencode.go).

var recordFields = structFields(append(resultFields(func(r *JobRecord) *JobResult { return &r.JobResult }),
	textField("job_id", func(r *JobRecord) string { return r.JobID }, false),
	textField("client_id", func(r *JobRecord) string { return r.ClientID }, false),
	textField("course_id", func(r *JobRecord) string { return r.CourseID }, true),
	textField("task_id", func(r *JobRecord) string { return r.TaskID }, true),
	textField("user", func(r *JobRecord) string { return r.User }, true),
	textField("launcher", func(r *JobRecord) string { return r.Launcher }, true),
	textField("environment_type", func(r *JobRecord) string { return r.EnvironmentType }, false),
	textField("environment", func(r *JobRecord) string { return r.Environment }, false),
	textField("agent", func(r *JobRecord) string { return r.Agent }, true),
	intField("attempts", func(r *JobRecord) int64 { return int64(r.Attempts) }),
	field("submitted_at", nil, func(w *fastWriter, r *JobRecord) { w.int(r.SubmittedAt) }),
	intField("started_at", func(r *JobRecord) int64 { return r.StartedAt }),
	field("finished_at", nil, func(w *fastWriter, r *JobRecord) { w.int(r.FinishedAt) }),
	intField("archive_dropped", func(r *JobRecord) int64 { return r.ArchiveDropped }),
	field("summary", func(r *JobRecord) bool { return !r.Summary }, func(w *fastWriter, r *JobRecord) { w.bool(r.Summary) }),
))

var historyFields = structFields([]encField[BackendHistory]{
	field("jobs", nil, func(w *fastWriter, h *BackendHistory) {
		if h.Jobs == nil {
			w.ok = false // null: the reflective encoder's to write
			return
		}
		w.head(4, uint64(len(h.Jobs)))
		for i := range h.Jobs {
			writeStruct(w, recordFields, &h.Jobs[i])
		}
	}),
	field("next", func(h *BackendHistory) bool { return h.Next == 0 }, func(w *fastWriter, h *BackendHistory) { w.head(0, h.Next) }),
})

func decodeBackendHistory(b []byte) (Message, bool) {
	m := new(BackendHistory)
	return m, fastWhole(b, func(r *fastReader, k []byte, s *seen) bool {
		switch string(k) {
		case "jobs":
			if !s.mark(0) {
				return false
			}
			n, ok := r.length(4)
			if !ok {
				return false
			}
			m.Jobs = make([]JobRecord, 0, sizeHint(n))
			for range n {
				var j JobRecord
				if !r.record(&j) {
					return false
				}
				m.Jobs = append(m.Jobs, j)
			}
			return true
		case "next":
			return s.mark(1) && r.uint64Into(&m.Next)
		}
		return false
	})
}

// record reads a JobRecord (its own fields at places 12-26 in s, its
// result's at 2-11).
func (r *fastReader) record(j *JobRecord) bool {
	r.free = MaxFreeFormItems
	return fastMap(r, func(k []byte, s *seen) bool {
		switch string(k) {
		case "job_id":
			return s.mark(12) && r.textInto(&j.JobID)
		case "client_id":
			return s.mark(13) && r.textInto(&j.ClientID)
		case "course_id":
			return s.mark(14) && r.textInto(&j.CourseID)
		case "task_id":
			return s.mark(15) && r.textInto(&j.TaskID)
		case "user":
			return s.mark(16) && r.textInto(&j.User)
		case "launcher":
			return s.mark(17) && r.textInto(&j.Launcher)
		case "environment_type":
			return s.mark(18) && r.textInto(&j.EnvironmentType)
		case "environment":
			return s.mark(19) && r.textInto(&j.Environment)
		case "agent":
			return s.mark(20) && r.textInto(&j.Agent)
		case "attempts":
			return s.mark(21) && r.intInto(&j.Attempts)
		case "submitted_at":
			return s.mark(22) && r.int64Into(&j.SubmittedAt)
		case "started_at":
			return s.mark(23) && r.int64Into(&j.StartedAt)
		case "finished_at":
			return s.mark(24) && r.int64Into(&j.FinishedAt)
		case "archive_dropped":
			return s.mark(25) && r.int64Into(&j.ArchiveDropped)
		case "summary":
			return s.mark(26) && r.boolInto(&j.Summary)
		}
		return r.resultField(k, &j.JobResult, s)
	})
}
