package journal

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/messages"
)

// Version of the wire form. A record of another version is refused: a
// backend never guesses at a journal written by a newer one.
const Version = 1

// Kinds of transition on the wire. Values are stable: never renumber.
const (
	kindQueued      = 1
	kindAssigned    = 2
	kindStarted     = 3
	kindRequeued    = 4
	kindKillRequest = 5
	kindFinished    = 6
)

// record is the compact wire form of one transition: small integer keys,
// absent fields omitted. Job and Result hold the messages package's own
// encoding of the ClientNewJob and BackendJobDone, so their validation
// stays in one place.
type record struct {
	lazyRecord
	Job []byte `cbor:"11,keyasint,omitempty"`
}

// lazyRecord is record without the job's description, which a replay
// leaves in the stream (backend.JobLoader reads it back at dispatch):
// decoding a million students' answers made a restart slow and the
// backend's memory large.
type lazyRecord struct {
	V           int    `cbor:"0,keyasint"`
	Kind        int    `cbor:"1,keyasint"`
	JobID       string `cbor:"2,keyasint,omitempty"`
	At          int64  `cbor:"3,keyasint,omitempty"` // Unix nanoseconds
	ClientID    string `cbor:"4,keyasint,omitempty"`
	Seq         uint64 `cbor:"5,keyasint,omitempty"`
	AgentID     string `cbor:"6,keyasint,omitempty"`
	Attempt     int    `cbor:"7,keyasint,omitempty"`
	AgentSeq    uint64 `cbor:"8,keyasint,omitempty"`
	DispatchSeq uint64 `cbor:"9,keyasint,omitempty"`
	Reason      string `cbor:"10,keyasint,omitempty"`
	Result      []byte `cbor:"12,keyasint,omitempty"`
	Head        *head  `cbor:"13,keyasint,omitempty"`
}

// head is a JobQueued's backend.JobHead, besides the whole job, so that a
// replay can take the job without decoding its description. Records
// written before it have none and are decoded whole.
type head struct {
	CourseID        string  `cbor:"0,keyasint,omitempty"`
	TaskID          string  `cbor:"1,keyasint,omitempty"`
	User            string  `cbor:"2,keyasint,omitempty"`
	Launcher        string  `cbor:"3,keyasint,omitempty"`
	EnvironmentType string  `cbor:"4,keyasint"`
	Environment     string  `cbor:"5,keyasint"`
	Priority        int     `cbor:"6,keyasint,omitempty"`
	MaxTime         float64 `cbor:"7,keyasint,omitempty"`
	Wait            bool    `cbor:"8,keyasint,omitempty"`
	// Frontend is the job's frontend within its admin client: its course
	// is that frontend's after a restart too.
	Frontend string `cbor:"9,keyasint,omitempty"`
	// SSH: debug "ssh", which the backend bounds per client. Left out
	// when false, so other jobs' records are the bytes they were; a
	// backend from before it skips it in a lazy replay.
	SSH bool `cbor:"10,keyasint,omitempty"`
}

func headRecord(h backend.JobHead, frontend string) *head {
	return &head{CourseID: h.CourseID, TaskID: h.TaskID, User: h.User, Launcher: h.Launcher,
		EnvironmentType: h.EnvironmentType, Environment: h.Environment, Priority: h.Priority,
		MaxTime: h.MaxTime, Wait: h.WaitForEnvironment, Frontend: frontend, SSH: h.SSHDebug}
}

func (h *head) jobHead(id string) backend.JobHead {
	return backend.JobHead{JobID: id, CourseID: h.CourseID, TaskID: h.TaskID, User: h.User, Launcher: h.Launcher,
		EnvironmentType: h.EnvironmentType, Environment: h.Environment, Priority: h.Priority,
		MaxTime: h.MaxTime, WaitForEnvironment: h.Wait, SSHDebug: h.SSH}
}

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed journal record")

// errClaimOfAttemptZero is a JobAssigned or JobStarted of attempt 0: a
// backend before e32a179 stored one when an agent's hello claimed a
// waiting job never assigned (any agent could). A replay skips it, and
// the job waits as it did before the claim: refused as malformed, it
// stopped every start of the backend for good.
var errClaimOfAttemptZero = errors.New("a claim of attempt 0 by an agent (a forged hello, stored by an older backend)")

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
	// lazyMode skips the description (field 11) it does not read.
	lazyMode cbor.DecMode
)

func init() {
	var err error
	encMode, err = cbor.EncOptions{Sort: cbor.SortCoreDeterministic, IndefLength: cbor.IndefLengthForbidden}.EncMode()
	if err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
		IndefLength:       cbor.IndefLengthForbidden,
		IntDec:            cbor.IntDecConvertSignedOrFail,
		MaxNestedLevels:   4,
		MaxArrayElements:  16,
		MaxMapPairs:       16,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	lazy := decMode.DecOptions()
	lazy.ExtraReturnErrors = cbor.ExtraDecErrorNone
	if lazyMode, err = lazy.DecMode(); err != nil {
		panic(err)
	}
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Encode returns the wire form of t.
func Encode(t backend.Transition) ([]byte, error) {
	data, _, err := encode(t, false)
	return data, err
}

// encodeApart is Encode for a journal that stores descriptions apart
// (batch.go): a JobQueued's record holds its head and no description,
// which it returns beside it.
func encodeApart(t backend.Transition) (data, job []byte, err error) {
	return encode(t, true)
}

func encode(t backend.Transition, apart bool) (data, job []byte, err error) {
	r := record{lazyRecord: lazyRecord{V: Version}}
	switch t := t.(type) {
	case *backend.JobQueued:
		if t.Job == nil {
			return nil, nil, errors.New("journal: JobQueued without a job")
		}
		r.Kind, r.JobID, r.ClientID, r.Seq, r.At = kindQueued, t.Job.JobID, t.ClientID, t.Seq, unixNano(t.At)
		r.Head = headRecord(backend.HeadOf(t.Job), t.Job.Frontend)
		if r.Job = t.Wire; r.Job == nil {
			r.Job, err = messages.Encode(t.Job)
		}
	case *backend.JobAssigned:
		r.Kind, r.JobID, r.AgentID, r.Attempt, r.AgentSeq, r.DispatchSeq, r.At =
			kindAssigned, t.JobID, t.AgentID, t.Attempt, t.AgentSeq, t.DispatchSeq, unixNano(t.At)
	case *backend.JobStarted:
		r.Kind, r.JobID, r.Attempt = kindStarted, t.JobID, t.Attempt
	case *backend.JobRequeued:
		r.Kind, r.JobID, r.Attempt, r.Reason = kindRequeued, t.JobID, t.Attempt, t.Reason
	case *backend.JobKillRequested:
		r.Kind, r.JobID = kindKillRequest, t.JobID
	case *backend.JobFinished:
		if t.Result == nil {
			return nil, nil, errors.New("journal: JobFinished without a result")
		}
		r.Kind, r.JobID, r.At = kindFinished, t.Result.JobID, unixNano(t.At)
		if r.Result = t.Wire; r.Result == nil {
			r.Result, err = messages.Encode(t.Result)
		}
	default:
		return nil, nil, fmt.Errorf("journal: cannot encode %T", t)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	if apart && r.Job != nil {
		job, r.Job = r.Job, nil
	}
	data, err = encodeRecord(&r)
	return data, job, err
}

// Decode parses one record strictly: unknown fields, duplicate keys,
// another version, an unknown kind or missing fields are errors.
func Decode(data []byte) (backend.Transition, error) {
	var r record
	if err := decMode.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return build(&r)
}

// build makes the transition of a decoded record.
func build(r *record) (backend.Transition, error) {
	if r.V != Version {
		return nil, fmt.Errorf("%w: version %d, this backend reads %d", ErrMalformed, r.V, Version)
	}
	if r.JobID == "" {
		return nil, fmt.Errorf("%w: no job id", ErrMalformed)
	}
	switch r.Kind {
	case kindQueued:
		m, err := messages.Decode(r.Job)
		if err != nil {
			return nil, fmt.Errorf("%w: job: %v", ErrMalformed, err)
		}
		j, ok := m.(*messages.ClientNewJob)
		if !ok || j.JobID != r.JobID {
			return nil, fmt.Errorf("%w: JobQueued holds %T for another job", ErrMalformed, m)
		}
		return &backend.JobQueued{Job: j, Head: backend.HeadOf(j), ClientID: r.ClientID, Frontend: j.Frontend, Seq: r.Seq, At: fromUnixNano(r.At)}, nil
	case kindAssigned:
		if r.AgentID != "" && r.Attempt == 0 {
			return nil, errClaimOfAttemptZero
		}
		if r.AgentID == "" || r.Attempt < 1 {
			return nil, fmt.Errorf("%w: JobAssigned needs an agent and an attempt", ErrMalformed)
		}
		return &backend.JobAssigned{JobID: r.JobID, AgentID: r.AgentID, Attempt: r.Attempt, AgentSeq: r.AgentSeq,
			DispatchSeq: r.DispatchSeq, At: fromUnixNano(r.At)}, nil
	case kindStarted:
		if r.Attempt == 0 {
			return nil, errClaimOfAttemptZero
		}
		return &backend.JobStarted{JobID: r.JobID, Attempt: r.Attempt}, nil
	case kindRequeued:
		return &backend.JobRequeued{JobID: r.JobID, Attempt: r.Attempt, Reason: r.Reason}, nil
	case kindKillRequest:
		return &backend.JobKillRequested{JobID: r.JobID}, nil
	case kindFinished:
		m, err := messages.Decode(r.Result)
		if err != nil {
			return nil, fmt.Errorf("%w: result: %v", ErrMalformed, err)
		}
		d, ok := m.(*messages.BackendJobDone)
		if !ok || d.JobID != r.JobID {
			return nil, fmt.Errorf("%w: JobFinished holds %T for another job", ErrMalformed, m)
		}
		// Its bytes too, copied: the backend keeps them to send the result
		// again (and need not encode it again), and a slice of the record
		// would keep the whole batch message alive.
		return &backend.JobFinished{Result: d, Wire: bytes.Clone(r.Result), At: fromUnixNano(r.At)}, nil
	}
	return nil, fmt.Errorf("%w: unknown kind %d", ErrMalformed, r.Kind)
}

// DecodeLazy is Decode but for a JobQueued with a head: it returns the
// head without the job's description (JobQueued.Job is nil), which
// LoadJob reads when the backend needs it. It checks less than Decode
// (unknown fields pass): it reads what this journal wrote, at replay.
func DecodeLazy(data []byte) (backend.Transition, error) {
	var r lazyRecord
	if err := lazyMode.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch {
	case r.Kind == kindQueued && r.Head != nil && r.V == Version && r.JobID != "":
		return &backend.JobQueued{Head: r.Head.jobHead(r.JobID), ClientID: r.ClientID, Frontend: r.Head.Frontend, Seq: r.Seq, At: fromUnixNano(r.At)}, nil
	case r.Kind == kindQueued:
		return Decode(data) // an older record: its job is all there is
	}
	return build(&record{lazyRecord: r})
}

// joinJob decodes a JobQueued whose description was stored apart: its
// record (a head) and the description.
func joinJob(record, job []byte) (*backend.JobQueued, error) {
	t, err := DecodeLazy(record)
	if err != nil {
		return nil, err
	}
	q, ok := t.(*backend.JobQueued)
	if !ok || q.Job != nil {
		return nil, fmt.Errorf("%w: a %T with a description apart", ErrMalformed, t)
	}
	m, err := messages.Decode(job)
	if err != nil {
		return nil, fmt.Errorf("%w: job: %v", ErrMalformed, err)
	}
	j, ok := m.(*messages.ClientNewJob)
	if !ok || j.JobID != q.Head.JobID {
		return nil, fmt.Errorf("%w: the description of %s holds %T for another job", ErrMalformed, q.Head.JobID, m)
	}
	q.Job, q.Head, q.Frontend = j, backend.HeadOf(j), j.Frontend
	return q, nil
}
