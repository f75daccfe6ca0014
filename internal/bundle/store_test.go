package bundle

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// newJetStream connects to a fresh embedded server with JetStream.
func newJetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	n := testutil.StartNATS(t)
	nc, err := nats.Connect(n.URL, testutil.Superuser(t).NATSOptions()...)
	must(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	must(t, err)
	return js
}

var bucket = messages.NewSubjects("").TaskBundleStore()

func newStore(t *testing.T) (*Store, jetstream.JetStream) {
	t.Helper()
	js := newJetStream(t)
	s, err := NewStore(t.Context(), js, bucket)
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	return s, js
}

func TestStorePutGet(t *testing.T) {
	s, js := newStore(t)
	ctx := t.Context()
	b := packTree(t, sampleTask())

	for i, want := range []bool{true, false, false} {
		uploaded, err := s.Put(ctx, b)
		if err != nil {
			t.Fatalf("Put #%d: %v", i+1, err)
		}
		if uploaded != want {
			t.Errorf("Put #%d: uploaded = %v, want %v", i+1, uploaded, want)
		}
	}
	// One object, one revision: the second Put wrote nothing.
	obs, err := js.ObjectStore(ctx, bucket)
	must(t, err)
	status, err := obs.Status(ctx)
	must(t, err)
	if msgs := status.(*jetstream.ObjectBucketStatus).StreamInfo().State.Msgs; msgs != 2 { // one chunk, one meta
		t.Errorf("the bucket's stream holds %d messages, want 2", msgs)
	}

	got, err := s.Get(ctx, b.Digest())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Digest() != b.Digest() || got.Size() != b.Size() {
		t.Errorf("Get = %s (%d bytes), want %s (%d bytes)", got.Digest(), got.Size(), b.Digest(), b.Size())
	}

	// Another client opening the existing bucket sees the same bundle.
	s2, err := NewStore(ctx, js, bucket)
	must(t, err)
	if uploaded, err := s2.Put(ctx, b); err != nil || uploaded {
		t.Errorf("Put from a second store: uploaded %v, %v", uploaded, err)
	}
}

func TestStoreGetErrors(t *testing.T) {
	s, js := newStore(t)
	ctx := t.Context()
	b := packTree(t, sampleTask())
	other := packTree(t, map[string]file{"run": {body: "#!/bin/sh\necho other\n", mode: 0o755}})
	if _, err := s.Put(ctx, b); err != nil {
		t.Fatal(err)
	}
	obs, err := js.ObjectStore(ctx, bucket)
	must(t, err)

	cases := []struct {
		name   string
		digest string
		setup  func(t *testing.T)
		want   error
	}{
		{"absent", other.Digest(), nil, ErrNotFound},
		{"malformed digest", "sha256:nothex", nil, ErrInvalidDigest},
		{"deleted", b.Digest(), func(t *testing.T) {
			must(t, obs.Delete(ctx, objectName(b.Digest())))
		}, ErrNotFound},
		{"replaced by other bytes", b.Digest(), func(t *testing.T) {
			// Through the object store API, as a careless tool or an
			// attacker with write access to the bucket would.
			_, err := obs.PutBytes(ctx, objectName(b.Digest()), other.data)
			must(t, err)
		}, ErrDigestMismatch},
		{"truncated", b.Digest(), func(t *testing.T) {
			_, err := obs.PutBytes(ctx, objectName(b.Digest()), b.data[:len(b.data)-1])
			must(t, err)
		}, ErrDigestMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup(t)
			}
			got, err := s.Get(ctx, c.digest)
			if !errors.Is(err, c.want) {
				t.Fatalf("Get = %v, %v; want %v", got, err, c.want)
			}
		})
	}

	// Put notices that the stored bytes are not the bundle, and repairs.
	uploaded, err := s.Put(ctx, b)
	if err != nil || !uploaded {
		t.Fatalf("Put over a damaged object: uploaded %v, %v", uploaded, err)
	}
	if _, err := s.Get(ctx, b.Digest()); err != nil {
		t.Errorf("Get after repair: %v", err)
	}
}

func TestNewStoreBadBucket(t *testing.T) {
	js := newJetStream(t)
	if _, err := NewStore(context.Background(), js, "no.dots allowed"); err == nil {
		t.Error("NewStore accepted an invalid bucket name")
	}
}

// Two frontends uploading one new bundle at once: the one whose upload
// lands second makes NATS purge the first one's chunks, which a frontend
// may not do, and that purge is never answered. The upload still succeeds
// (the store holds the bundle), within seconds, not at the caller's
// deadline: a deadline's submissions of one task by the bridge and the CLI
// were refused after a minute.
func TestStoreConcurrentUploadsByFrontends(t *testing.T) {
	n := testutil.StartNATS(t)
	ctx := t.Context()
	open := func(role natsauth.Role, name string) *Store {
		nc := testutil.ConnectAs(t, n.URL, name, testutil.Creds(t, role, name))
		js, err := jetstream.New(nc)
		must(t, err)
		s, err := NewStore(ctx, js, bucket)
		must(t, err)
		return s
	}
	open(natsauth.RoleBackend, "backend") // creates the bucket, as the backend does
	first, second := open(natsauth.RoleFrontend, "f1"), open(natsauth.RoleFrontend, "f2")
	b := packTree(t, sampleTask())
	if uploaded, err := first.Put(ctx, b); err != nil || !uploaded {
		t.Fatalf("first Put: uploaded %v, %v", uploaded, err)
	}
	// The second frontend looked before the first stored it: it uploads.
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	if err := second.store(wait, b); err != nil {
		t.Fatalf("the second upload of the same bundle: %v (after %v)", err, time.Since(start).Round(time.Millisecond))
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("the second upload took %v", took)
	}
	// Whole, for an agent (frontends may not read bundles back).
	if got, err := open(natsauth.RoleAgent, "a1").Get(ctx, b.Digest()); err != nil || got.Digest() != b.Digest() {
		t.Fatalf("an agent's Get after both uploads: %v", err)
	}
}
