package journal

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

func sampleJob(id string, prio int) *messages.ClientNewJob {
	return &messages.ClientNewJob{JobDescription: messages.JobDescription{JobID: id, CourseID: "c", TaskID: "t",
		EnvironmentType: "docker", Environment: "python", InputData: map[string]any{"@state": "s0", "q": "print(1)"}},
		Priority: prio, Launcher: "test"}
}

func TestRoundTripEveryKind(t *testing.T) {
	at := time.Unix(1700000000, 123456789)
	done := &messages.BackendJobDone{JobID: "j1", JobResult: messages.JobResult{
		Result: messages.Result{Status: messages.StatusSuccess, Text: "ok"}, Grade: 100, Stdout: "out"}}
	cases := []struct {
		name string
		t    backend.Transition
	}{
		{"queued", &backend.JobQueued{Job: sampleJob("j1", 3), ClientID: "c1", Seq: 42, At: at}},
		{"queued zero time", &backend.JobQueued{Job: sampleJob("j1", 0), ClientID: "c1", Seq: 1}},
		{"assigned", &backend.JobAssigned{JobID: "j1", AgentID: "a1", Attempt: 2, AgentSeq: 7, DispatchSeq: 9, At: at}},
		{"started", &backend.JobStarted{JobID: "j1", Attempt: 1}},
		{"requeued", &backend.JobRequeued{JobID: "j1", Attempt: 1, Reason: "agent lost"}},
		{"kill requested", &backend.JobKillRequested{JobID: "j1"}},
		{"finished", &backend.JobFinished{Result: done, At: at}},
	}
	seen := map[reflect.Type]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := Encode(c.t)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if reflect.TypeOf(got) != reflect.TypeOf(c.t) {
				t.Fatalf("decoded %T, want %T", got, c.t)
			}
			if backend.TransitionJobID(got) != backend.TransitionJobID(c.t) {
				t.Errorf("job id %q, want %q", backend.TransitionJobID(got), backend.TransitionJobID(c.t))
			}
			// Deterministic encoding: equal transitions have equal bytes.
			b2, err := Encode(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, b2) {
				t.Errorf("re-encoding differs:\n%x\n%x", b, b2)
			}
			switch w := c.t.(type) {
			case *backend.JobAssigned, *backend.JobStarted, *backend.JobRequeued, *backend.JobKillRequested:
				if !reflect.DeepEqual(normalize(got), normalize(w)) {
					t.Errorf("got %+v, want %+v", got, w)
				}
			case *backend.JobQueued:
				g := got.(*backend.JobQueued)
				if g.Seq != w.Seq || g.ClientID != w.ClientID || !g.At.Equal(w.At) || g.Job.Priority != w.Job.Priority || g.Job.InputData["q"] != "print(1)" {
					t.Errorf("got %+v, want %+v", g, w)
				}
			case *backend.JobFinished:
				g := got.(*backend.JobFinished)
				if !g.At.Equal(w.At) || g.Result.Grade != 100 || g.Result.Result.Text != "ok" || g.Result.Stdout != "out" {
					t.Errorf("got %+v, want %+v", g.Result, w.Result)
				}
				// The result's bytes come back too, for the backend to send
				// again as they are.
				if want, _ := messages.Encode(w.Result); !bytes.Equal(g.Wire, want) {
					t.Errorf("result bytes %x, want %x", g.Wire, want)
				}
			}
		})
		seen[reflect.TypeOf(c.t)] = true
	}
	if len(seen) != 6 {
		t.Errorf("covered %d transition kinds, want 6", len(seen))
	}
}

// normalize drops the monotonic clock reading so DeepEqual compares instants.
func normalize(t backend.Transition) backend.Transition {
	if a, ok := t.(*backend.JobAssigned); ok {
		c := *a
		c.At = c.At.Round(0)
		return &c
	}
	return t
}

func TestDecodeIsStrict(t *testing.T) {
	enc := func(v any) []byte {
		b, err := cbor.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	job, _ := messages.Encode(sampleJob("j1", 0))
	other, _ := messages.Encode(sampleJob("j2", 0))
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", []byte("not cbor at all")},
		{"truncated", enc(map[int]any{0: 1, 1: kindStarted, 2: "j1"})[:5]},
		{"array", enc([]int{1, 2, 3})},
		{"unknown field", enc(map[int]any{0: 1, 1: kindStarted, 2: "j1", 99: "x"})},
		{"other version", enc(map[int]any{0: 2, 1: kindStarted, 2: "j1"})},
		{"no version", enc(map[int]any{1: kindStarted, 2: "j1"})},
		{"unknown kind", enc(map[int]any{0: 1, 1: 77, 2: "j1"})},
		{"no job id", enc(map[int]any{0: 1, 1: kindStarted})},
		{"wrong field type", enc(map[int]any{0: 1, 1: "started", 2: "j1"})},
		{"negative into unsigned", enc(map[int]any{0: 1, 1: kindQueued, 2: "j1", 5: -1, 11: job})},
		{"queued without job", enc(map[int]any{0: 1, 1: kindQueued, 2: "j1"})},
		{"queued job of another id", enc(map[int]any{0: 1, 1: kindQueued, 2: "j1", 11: other})},
		{"queued holding garbage", enc(map[int]any{0: 1, 1: kindQueued, 2: "j1", 11: []byte{0xff}})},
		{"finished holding a job", enc(map[int]any{0: 1, 1: kindFinished, 2: "j1", 12: job})},
		{"assigned without agent", enc(map[int]any{0: 1, 1: kindAssigned, 2: "j1", 7: 1})},
		{"invalid utf8", enc(map[int]any{0: 1, 1: kindStarted, 2: string([]byte{0xff, 0xfe})})},
		{"duplicate key", []byte{0xa3, 0x00, 0x01, 0x01, 0x03, 0x01, 0x03}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Decode(c.data)
			if err == nil {
				t.Fatalf("decoded %+v, want an error", got)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not wrap ErrMalformed", err)
			}
		})
	}
}

func TestEncodeRefusesIncomplete(t *testing.T) {
	for _, tr := range []backend.Transition{&backend.JobQueued{}, &backend.JobFinished{}} {
		if _, err := Encode(tr); err == nil {
			t.Errorf("encoded %T without its payload", tr)
		}
	}
}

// DecodeLazy gives a JobQueued's head without its description; a record
// written before heads existed is decoded whole; other kinds are decoded
// as Decode does.
func TestDecodeLazy(t *testing.T) {
	job := sampleJob("j1", 2)
	job.InputData["@username"] = "alice"
	job.EnvironmentParameters.Limits.Time = 30
	job.Frontend = "uni-a" // its course stays that frontend's after a restart
	data, err := Encode(&backend.JobQueued{Job: job, ClientID: "c1", Seq: 7, At: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeLazy(data)
	if err != nil {
		t.Fatal(err)
	}
	q := got.(*backend.JobQueued)
	want := backend.HeadOf(job)
	if q.Job != nil || q.Head != want || q.ClientID != "c1" || q.Seq != 7 || q.Frontend != "uni-a" {
		t.Fatalf("lazy JobQueued %+v, want head %+v and no job", q, want)
	}
	if want.User != "alice" || want.MaxTime != 30 || want.Priority != 2 {
		t.Fatalf("head %+v lost a field", want)
	}

	// An older record: no head.
	var r record
	if err := decMode.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	r.Head = nil
	old, err := encMode.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err = DecodeLazy(old)
	if err != nil {
		t.Fatal(err)
	}
	if q := got.(*backend.JobQueued); q.Job == nil || q.Job.InputData["q"] != "print(1)" || q.Head != want {
		t.Fatalf("a record without a head decoded to %+v", q)
	}

	done := &backend.JobFinished{Result: &messages.BackendJobDone{JobID: "j1", JobResult: messages.JobResult{
		Result: messages.Result{Status: messages.StatusSuccess, Text: "ok"}, Grade: 100}}, At: time.Unix(1700000001, 0)}
	data, err = Encode(done)
	if err != nil {
		t.Fatal(err)
	}
	got, err = DecodeLazy(data)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := got.(*backend.JobFinished); !ok || f.Result.Result.Text != "ok" || f.Result.Grade != 100 {
		t.Fatalf("lazy JobFinished %+v", got)
	}
	if _, err := DecodeLazy([]byte{0xff}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("garbage: %v, want ErrMalformed", err)
	}
}

// TestDecodeLazyKeepsSSHDebug: the head says whether a job is an
// SSH-debug one, which the backend bounds per client: a replay that
// leaves the descriptions in the journal must still count them, or a
// restart would reset the bound. A job without it writes the same bytes
// as before the field.
func TestDecodeLazyKeepsSSHDebug(t *testing.T) {
	for _, debug := range []messages.DebugMode{messages.DebugSSH, messages.DebugOn, messages.DebugOff} {
		job := sampleJob("j1", 0)
		job.Debug = debug
		data, err := Encode(&backend.JobQueued{Job: job, ClientID: "c1", Seq: 1})
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeLazy(data)
		if err != nil {
			t.Fatal(err)
		}
		q := got.(*backend.JobQueued)
		if q.Job != nil || q.Head.SSHDebug != (debug == messages.DebugSSH) {
			t.Errorf("debug %q: lazy head %+v", debug, q.Head)
		}
		full, err := Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if h := full.(*backend.JobQueued).Head; h != q.Head {
			t.Errorf("debug %q: full head %+v, lazy %+v", debug, h, q.Head)
		}
	}
}

// Whatever the stream holds, decoding returns a transition or an error,
// never a panic, and both decoders agree on what is malformed.
func FuzzDecode(f *testing.F) {
	for _, tr := range []backend.Transition{
		&backend.JobQueued{Job: sampleJob("j1", 1), ClientID: "c1", Seq: 1, At: time.Unix(1700000000, 0)},
		&backend.JobAssigned{JobID: "j1", AgentID: "a", Attempt: 1, AgentSeq: 2, DispatchSeq: 3},
		&backend.JobRequeued{JobID: "j1", Attempt: 1, Reason: "lost"},
	} {
		data, err := Encode(tr)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		full, errFull := Decode(data)
		lazy, errLazy := DecodeLazy(data)
		if errLazy == nil && lazy == nil || errFull == nil && full == nil {
			t.Fatal("no transition and no error")
		}
		if errFull == nil && errLazy != nil {
			t.Fatalf("Decode took what DecodeLazy refused: %v", errLazy)
		}
		// Any record that decodes is written by hand as the reflective
		// encoder writes it.
		var r record
		if decMode.Unmarshal(data, &r) == nil {
			got, err := encodeRecord(&r)
			want, werr := encMode.Marshal(r)
			if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
				t.Fatalf("hand %x, %v; reflective %x, %v", got, err, want, werr)
			}
		}
	})
}

// A job that came with its wire form is stored as it came: the record
// holds those bytes, it decodes to the same job, and Encode does not
// encode the job a second time (fewer allocations than without).
func TestEncodeKeepsTheWireForm(t *testing.T) {
	job := sampleJob("j1", 3)
	wire, err := messages.Encode(job)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1700000000, 0)
	with := &backend.JobQueued{Job: job, Wire: wire, ClientID: "c1", Seq: 1, At: at}
	without := &backend.JobQueued{Job: job, ClientID: "c1", Seq: 1, At: at}
	data, err := Encode(with)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, wire) {
		t.Errorf("the record does not hold the job's wire form")
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if q := got.(*backend.JobQueued); !reflect.DeepEqual(q.Job, job) || q.Wire != nil {
		t.Errorf("decoded %+v, want the job without its wire form", q)
	}
	allocs := func(q *backend.JobQueued) float64 {
		return testing.AllocsPerRun(100, func() {
			if _, err := Encode(q); err != nil {
				t.Fatal(err)
			}
		})
	}
	if a, b := allocs(with), allocs(without); a >= b {
		t.Errorf("Encode with the wire form: %v allocations, without: %v; want fewer", a, b)
	}
}

// TestHandEncodingIsTheReflectiveOne: the hand-written encoder writes the
// reflective encoder's bytes for every kind of record, with every field
// empty and set, and leaves what it cannot write to it.
func TestHandEncodingIsTheReflectiveOne(t *testing.T) {
	full := lazyRecord{V: Version, Kind: kindQueued, JobID: "j", At: -5, ClientID: "c", Seq: 1 << 40, AgentID: "a",
		Attempt: -2, AgentSeq: 300, DispatchSeq: 70000, Reason: "r", Result: []byte{1, 2},
		Head: &head{CourseID: "co", TaskID: "t", User: "u", Launcher: "l", EnvironmentType: "docker", Environment: "e",
			Priority: -7, MaxTime: 0.1, Wait: true, Frontend: "f", SSH: true}}
	cases := []record{
		{lazyRecord: lazyRecord{V: Version, Kind: kindStarted}},
		{lazyRecord: full, Job: bytes.Repeat([]byte{7}, 300)},
		{lazyRecord: lazyRecord{V: Version, Kind: kindQueued, JobID: "j", Head: &head{}}},
		{lazyRecord: lazyRecord{V: Version, Kind: kindQueued, Head: &head{MaxTime: 30, Priority: 1 << 40}}},
		{lazyRecord: lazyRecord{V: Version, Kind: kindFinished, At: time.Now().UnixNano(), Result: bytes.Repeat([]byte{9}, 70000)}},
	}
	for i, r := range cases {
		got, ok := appendRecord(nil, &r)
		want, err := encMode.Marshal(r)
		if !ok || err != nil || !bytes.Equal(got, want) {
			t.Errorf("case %d: hand %x (took it: %v)\nreflective %x, %v", i, got, ok, want, err)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1)} {
		r := record{lazyRecord: lazyRecord{V: Version, Kind: kindQueued, Head: &head{MaxTime: f}}}
		if _, ok := appendRecord(nil, &r); ok {
			t.Errorf("MaxTime %v: the hand-written encoder took it", f)
		}
		got, gerr := encodeRecord(&r)
		want, werr := encMode.Marshal(r)
		if (gerr == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Errorf("MaxTime %v: %x, %v; reflective %x, %v", f, got, gerr, want, werr)
		}
	}
}

// TestHandEncodingKnowsEveryField: a record with every field set through
// reflect (so a field added later is set too) is written by hand as the
// reflective encoder writes it; a field the hand-written encoder did not
// know would otherwise be dropped from the journal without a word.
func TestHandEncodingKnowsEveryField(t *testing.T) {
	var r record
	testutil.Fill(reflect.ValueOf(&r).Elem())
	got, ok := appendRecord(nil, &r)
	want, err := encMode.Marshal(r)
	if !ok || err != nil || !bytes.Equal(got, want) {
		t.Fatalf("hand %x (took it: %v)\nreflective %x, %v", got, ok, want, err)
	}
}
