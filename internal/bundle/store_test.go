package bundle

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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
