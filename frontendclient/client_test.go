package frontendclient

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

func TestHelloAndReady(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		wantName string
		wantID   string
	}{
		{name: "defaults", wantName: DefaultName},
		{name: "given name and id", opts: Options{Name: "webapp", ClientID: "frontend-1"}, wantName: "webapp", wantID: "frontend-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts)
			client, hello := expect[*messages.ClientHello](t, e.fb, nil)
			if hello.Name != tt.wantName || hello.ProtocolVersion != messages.ProtocolVersion {
				t.Errorf("hello = %+v, want name %q and protocol %d", hello, tt.wantName, messages.ProtocolVersion)
			}
			if client != e.c.ID() {
				t.Errorf("hello came from client %q, ID() = %q", client, e.c.ID())
			}
			if tt.wantID != "" && e.c.ID() != tt.wantID {
				t.Errorf("ID() = %q, want %q", e.c.ID(), tt.wantID)
			}
			if err := messages.ValidateID(e.c.ID()); err != nil {
				t.Errorf("ID() %q: %v", e.c.ID(), err)
			}
			ready(t, e.c)
			if got, want := e.c.Environments(), map[string][]string{"docker": {"default"}}; !reflect.DeepEqual(got, want) {
				t.Errorf("Environments() = %v, want %v", got, want)
			}
		})
	}
}

func TestInvalidOptions(t *testing.T) {
	e := newEnv(t, Options{})
	for _, opts := range []Options{
		{ClientID: "has.dot"},
		{ClientID: "has space"},
		{PingInterval: -1},
	} {
		if _, err := New(t.Context(), e.nc, opts); !errors.Is(err, ErrInvalid) {
			t.Errorf("New(%+v) = %v, want ErrInvalid", opts, err)
		}
	}
}

func TestHelloRefused(t *testing.T) {
	n := testutil.StartNATS(t)
	fb := startFakeBackend(t, n.URL)
	fb.set(func(fb *fakeBackend) {
		fb.helloErr = messages.Errorf(messages.CodeProtocolVersion, "", "client speaks protocol 1, this backend speaks 2")
	})
	c, _ := newClient(t, n.URL, Options{})
	ctx, cancel := contextWithGuard(t)
	defer cancel()
	err := c.WaitReady(ctx)
	var me *messages.Error
	if !errors.As(err, &me) || me.Code != messages.CodeProtocolVersion {
		t.Fatalf("WaitReady = %v, want a protocol_version refusal", err)
	}
}

func TestEnvironmentsUpdates(t *testing.T) {
	e := newEnv(t, Options{})
	ready(t, e.c)
	seen := make(chan map[string][]string, 10)
	e.c.OnEnvironments(func(envs map[string][]string) { seen <- envs })
	for _, envs := range []map[string][]string{
		{"docker": {"default", "python3"}},
		{"docker": {"python3"}, "docker-ssh": {"default"}},
		{},
	} {
		e.fb.setEnvs(envs)
		got := <-seen
		if !reflect.DeepEqual(got, envs) {
			t.Errorf("callback got %v, want %v", got, envs)
		}
		if got := e.c.Environments(); !reflect.DeepEqual(got, envs) {
			t.Errorf("Environments() = %v, want %v", got, envs)
		}
	}
	// A copy: the caller may scribble on it.
	e.c.Environments()["x"] = nil
	if _, ok := e.c.Environments()["x"]; ok {
		t.Error("Environments() returned the client's own map")
	}
}

// Nothing the backend subject carries can stop the client.
func TestGarbageOnClientSubject(t *testing.T) {
	notCBOR := []byte("\xff\x00 not cbor at all")
	untagged, _ := cbor.Marshal(map[string]any{"job_id": "x"})
	foreignTag, _ := cbor.Marshal(cbor.Tag{Number: 42, Content: "x"})
	agentHello, _ := messages.Encode(&messages.AgentHello{FriendlyName: "intruder"})
	backendNewJob, _ := messages.Encode(&messages.BackendNewJob{JobDescription: messages.JobDescription{JobID: "x"}})
	truncated, _ := messages.Encode(&messages.BackendJobDone{JobID: "x"})
	truncated = truncated[:len(truncated)/2]
	tests := []struct {
		name                  string
		data                  []byte
		malformed, unexpected int64
	}{
		{"not CBOR", notCBOR, 1, 0},
		{"empty", nil, 1, 0},
		{"untagged map", untagged, 1, 0},
		{"unknown tag", foreignTag, 1, 0},
		{"truncated result", truncated, 1, 0},
		{"agent message", agentHello, 0, 1},
		{"message for an agent", backendNewJob, 0, 1},
	}
	e := newEnv(t, Options{})
	ready(t, e.c)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.c.Stats()
			e.fb.sendRaw(t, e.c.ID(), tt.data)
			roundTrip(t, e.c)
			after := e.c.Stats()
			if d := after.Malformed - before.Malformed; d != tt.malformed {
				t.Errorf("Malformed grew by %d, want %d", d, tt.malformed)
			}
			if d := after.Unexpected - before.Unexpected; d != tt.unexpected {
				t.Errorf("Unexpected grew by %d, want %d", d, tt.unexpected)
			}
		})
	}
	// And it still does its work.
	j := submit(t, e.c, jobRequest(""))
	e.fb.finish(j.ID(), messages.StatusSuccess)
	if res := wait(t, j); res.Result.Status != messages.StatusSuccess {
		t.Errorf("status %q after garbage, want success", res.Result.Status)
	}
}

func TestClose(t *testing.T) {
	e := newEnv(t, Options{})
	ready(t, e.c)
	j := submit(t, e.c, jobRequest(""))
	if err := e.c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	<-j.Done()
	if _, err := j.Wait(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("Wait after Close = %v, want ErrClosed", err)
	}
	if !errors.Is(j.Err(), ErrClosed) || j.Result() != nil {
		t.Errorf("Err() = %v, Result() = %v; want ErrClosed and nil", j.Err(), j.Result())
	}
	if got := kinds(drain(j)); !reflect.DeepEqual(got, []EventKind{EventQueued}) {
		t.Errorf("events %v, want only queued and then a closed channel", got)
	}
	calls := map[string]error{}
	_, calls["NewJob"] = e.c.NewJob(t.Context(), jobRequest(""))
	calls["KillJob"] = e.c.KillJob(t.Context(), j.ID())
	_, calls["Queue"] = e.c.Queue(t.Context())
	calls["WaitReady"] = e.c.WaitReady(t.Context())
	for name, err := range calls {
		if name == "WaitReady" {
			// It was ready before: that stays true.
			if err != nil {
				t.Errorf("WaitReady after Close = %v", err)
			}
			continue
		}
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

// The connection's owner closing it ends the client too.
func TestConnectionClosed(t *testing.T) {
	e := newEnv(t, Options{})
	ready(t, e.c)
	j := submit(t, e.c, jobRequest(""))
	e.nc.Close()
	<-j.Done()
	if err := j.Err(); !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Err() = %v, want ErrClosed", err)
	}
}

func drain(j *Job) []Event {
	var out []Event
	for ev := range j.Events() {
		out = append(out, ev)
	}
	return out
}
