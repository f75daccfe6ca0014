package bundle

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// storeServer is an embedded server with the bundle stream, made with a
// backend's rights as `ingo backend` makes it.
type storeServer struct {
	url string
	js  jetstream.JetStream // the backend's
}

func newStoreServer(t *testing.T) *storeServer {
	t.Helper()
	n := testutil.StartNATS(t)
	nc := testutil.ConnectAs(t, n.URL, "backend", testutil.Creds(t, natsauth.RoleBackend, "backend"))
	if _, err := EnsureStore(t.Context(), nc, "", StoreConfig{}); err != nil {
		t.Fatalf("EnsureStore: %v", err)
	}
	js, err := jetstream.New(nc)
	must(t, err)
	return &storeServer{url: n.URL, js: js}
}

// open is the store as one of role and name sees it.
func (s *storeServer) open(t *testing.T, role natsauth.Role, name string) *Store {
	t.Helper()
	nc := testutil.ConnectAs(t, s.url, name, testutil.Creds(t, role, name))
	st, err := OpenStore(nc, "")
	must(t, err)
	return st
}

// publish stores data on subject with the backend's rights.
func (s *storeServer) publish(t *testing.T, subject string, data []byte) uint64 {
	t.Helper()
	ack, err := s.js.Publish(t.Context(), subject, data)
	must(t, err)
	return ack.Sequence
}

func (s *storeServer) msgs(t *testing.T) uint64 {
	t.Helper()
	st, err := s.js.Stream(t.Context(), messages.NewSubjects("").BundleStream())
	must(t, err)
	return st.CachedInfo().State.Msgs
}

// bigTask packs a folder of incompressible bytes over two chunks.
func bigTask(t *testing.T) *Bundle {
	t.Helper()
	noise := make([]byte, 2*ChunkSize+1000)
	_, _ = rand.Read(noise)
	return packTree(t, map[string]file{"run": {body: "#!/bin/sh\n", mode: 0o755}, "data.bin": {body: string(noise), mode: 0o644}})
}

func TestStorePutGet(t *testing.T) {
	srv := newStoreServer(t)
	ctx := t.Context()
	front := srv.open(t, natsauth.RoleFrontend, "course1")
	agent := srv.open(t, natsauth.RoleAgent, "a1")
	for _, c := range []struct {
		name string
		b    *Bundle
		msgs uint64 // chunks and metadata
	}{
		{"one chunk", packTree(t, sampleTask()), 2},
		{"three chunks", bigTask(t), 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := srv.msgs(t)
			for i, want := range []bool{true, false, false} {
				uploaded, err := front.Put(ctx, "course1", c.b)
				if err != nil || uploaded != want {
					t.Fatalf("Put #%d: uploaded %v, %v; want %v", i+1, uploaded, err, want)
				}
			}
			if got := srv.msgs(t) - before; got != c.msgs {
				t.Errorf("the stream took %d messages, want %d: the second Put wrote something", got, c.msgs)
			}
			got, err := agent.Get(ctx, "course1", c.b.Digest(), 0)
			if err != nil || got.Digest() != c.b.Digest() || got.Size() != c.b.Size() {
				t.Fatalf("Get = %v, %v; want %s (%d bytes)", got, err, c.b.Digest(), c.b.Size())
			}
			// The bundle is course1's: no other client's job gets it.
			if _, err := agent.Get(ctx, "course2", c.b.Digest(), 0); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get as course2 = %v, want ErrNotFound", err)
			}
		})
	}
}

// A copy a day old is uploaded again, so that the store's retention never
// takes a bundle that a new job names.
func TestStoreRefreshesOldCopies(t *testing.T) {
	srv := newStoreServer(t)
	ctx := t.Context()
	front := srv.open(t, natsauth.RoleFrontend, "course1")
	b := packTree(t, sampleTask())
	if up, err := front.Put(ctx, "course1", b); err != nil || !up {
		t.Fatalf("first Put: uploaded %v, %v", up, err)
	}
	front.refreshAfter = 0
	if up, err := front.Put(ctx, "course1", b); err != nil || !up {
		t.Fatalf("Put of an old copy: uploaded %v, %v; want a new upload", up, err)
	}
	st, err := srv.js.Stream(ctx, messages.NewSubjects("").BundleStream())
	must(t, err)
	if got := st.CachedInfo().Config.MaxAge; got != DefaultRetention {
		t.Errorf("the stream keeps messages %v, want %v", got, DefaultRetention)
	}
	nc := testutil.ConnectAs(t, srv.url, "b2", testutil.Creds(t, natsauth.RoleBackend, "b2"))
	if _, err := EnsureStore(ctx, nc, "", StoreConfig{Retention: MinRetention - time.Hour}); err == nil {
		t.Error("EnsureStore took a retention under MinRetention")
	}
}

func TestStoreMissing(t *testing.T) {
	n := testutil.StartNATS(t)
	nc := testutil.ConnectAs(t, n.URL, "a1", testutil.Creds(t, natsauth.RoleAgent, "a1"))
	st, err := OpenStore(nc, "")
	must(t, err)
	ctx := t.Context()
	b := packTree(t, sampleTask())
	if err := st.Check(ctx, "course1"); !errors.Is(err, ErrNoStore) {
		t.Errorf("Check = %v, want ErrNoStore", err)
	}
	if _, err := st.Get(ctx, "course1", b.Digest(), 0); !errors.Is(err, ErrNoStore) {
		t.Errorf("Get = %v, want ErrNoStore", err)
	}
	backend := testutil.ConnectAs(t, n.URL, "b", testutil.Creds(t, natsauth.RoleBackend, "b"))
	if _, err := EnsureStore(ctx, backend, "", StoreConfig{}); err != nil {
		t.Fatal(err)
	}
	if err := st.Check(ctx, "course1"); err != nil {
		t.Errorf("Check after EnsureStore = %v", err)
	}
}

// What an agent reads is what its client uploaded, or an error: whatever
// else lands on the bundle's subjects, and whatever its metadata says.
func TestStoreGetErrors(t *testing.T) {
	srv := newStoreServer(t)
	ctx := t.Context()
	s := messages.NewSubjects("")
	front := srv.open(t, natsauth.RoleFrontend, "course1")
	agent := srv.open(t, natsauth.RoleAgent, "a1")
	b := packTree(t, sampleTask())
	other := packTree(t, map[string]file{"run": {body: "#!/bin/sh\necho other\n", mode: 0o755}})
	big := bigTask(t)
	for _, x := range []*Bundle{b, big} {
		if _, err := front.Put(ctx, "course1", x); err != nil {
			t.Fatal(err)
		}
	}
	victim := srv.publish(t, s.Bundles("course2")+"."+objectName(other.Digest())+".data", other.data)
	metaOf := func(owner string, x *Bundle) string { return s.Bundles(owner) + "." + objectName(x.Digest()) + ".meta" }
	// writeMeta writes metadata as a client does, with the backend's rights.
	writeMeta := func(t *testing.T, owner string, x *Bundle, m any) {
		body, err := json.Marshal(m)
		must(t, err)
		_, err = srv.js.PublishMsg(ctx, &nats.Msg{Subject: metaOf(owner, x), Header: nats.Header{markHeader: {"meta"}}, Data: body})
		must(t, err)
	}

	cases := []struct {
		name   string
		owner  string
		digest string
		setup  func(t *testing.T)
		want   error
	}{
		{"absent", "course1", other.Digest(), nil, ErrNotFound},
		{"malformed digest", "course1", "sha256:nothex", nil, ErrInvalidDigest},
		{"malformed owner", "course.1", b.Digest(), nil, nil},
		{"junk after the chunks", "course1", big.Digest(), func(t *testing.T) {
			srv.publish(t, s.Bundles("course1")+"."+objectName(big.Digest())+".data", []byte("junk"))
		}, nil},
		{"metadata naming another client's chunk", "course3", other.Digest(), func(t *testing.T) {
			writeMeta(t, "course3", other, meta{Digest: other.Digest(), Size: int64(len(other.data)), Chunks: []uint64{victim}})
		}, ErrDigestMismatch},
		{"metadata of another digest", "course1", other.Digest(), func(t *testing.T) {
			writeMeta(t, "course1", other, meta{Digest: b.Digest(), Size: 1, Chunks: []uint64{1}})
		}, ErrDigestMismatch},
		{"metadata over the size limit", "course1", other.Digest(), func(t *testing.T) {
			writeMeta(t, "course1", other, meta{Digest: other.Digest(), Size: MaxArchiveSize + 1, Chunks: []uint64{1}})
		}, ErrTooLarge},
		{"metadata with too many chunks", "course1", other.Digest(), func(t *testing.T) {
			writeMeta(t, "course1", other, meta{Digest: other.Digest(), Size: 10, Chunks: make([]uint64, maxChunks+1)})
		}, ErrDigestMismatch},
		{"unreadable metadata", "course1", other.Digest(), func(t *testing.T) {
			srv.publish(t, metaOf("course1", other), []byte("\xa1not json"))
		}, ErrDigestMismatch},
		{"metadata shorter than its chunks", "course1", b.Digest(), func(t *testing.T) {
			m, err := agent.meta(ctx, "course1", b.Digest())
			must(t, err)
			m.Size--
			writeMeta(t, "course1", b, m)
		}, ErrDigestMismatch},
		{"metadata longer than its chunks", "course4", b.Digest(), func(t *testing.T) {
			seq := srv.publish(t, s.Bundles("course4")+"."+objectName(b.Digest())+".data", b.data[:len(b.data)-1])
			writeMeta(t, "course4", b, meta{Digest: b.Digest(), Size: int64(len(b.data)), Chunks: []uint64{seq}})
		}, ErrDigestMismatch},
		{"bytes that are not the bundle", "course5", b.Digest(), func(t *testing.T) {
			seq := srv.publish(t, s.Bundles("course5")+"."+objectName(b.Digest())+".data", other.data)
			writeMeta(t, "course5", b, meta{Digest: b.Digest(), Size: int64(len(other.data)), Chunks: []uint64{seq}})
		}, ErrDigestMismatch},
		{"a chunk from another subject, with a forged subject header", "course6", b.Digest(), func(t *testing.T) {
			data := s.Bundles("course6") + "." + objectName(b.Digest()) + ".data"
			ack, err := srv.js.PublishMsg(ctx, &nats.Msg{Subject: s.Bundles("course6") + ".other", Data: b.data,
				Header: nats.Header{jetstream.SubjectHeader: {data}}})
			must(t, err)
			writeMeta(t, "course6", b, meta{Digest: b.Digest(), Size: int64(len(b.data)), Chunks: []uint64{ack.Sequence}})
		}, ErrDigestMismatch},
		{"a chunk deleted", "course1", big.Digest(), func(t *testing.T) {
			m, err := agent.meta(ctx, "course1", big.Digest())
			must(t, err)
			st, err := srv.js.Stream(ctx, s.BundleStream())
			must(t, err)
			must(t, st.DeleteMsg(ctx, m.Chunks[1]))
		}, ErrDigestMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup(t)
			}
			got, err := agent.Get(ctx, c.owner, c.digest, 0)
			switch {
			case c.name == "malformed owner":
				if err == nil {
					t.Fatal("Get accepted an owner that is no client id")
				}
			case c.want == nil:
				if err != nil || got.Digest() != c.digest {
					t.Fatalf("Get = %v, %v; want the bundle", got, err)
				}
			case !errors.Is(err, c.want):
				t.Fatalf("Get = %v, %v; want %v", got, err, c.want)
			}
		})
	}

	// A frontend cannot read what it stored: a process of it that did not
	// upload a bundle uploads it, whatever the store holds.
	uploaded, err := srv.open(t, natsauth.RoleFrontend, "course1").Put(ctx, "course1", b)
	if err != nil || !uploaded {
		t.Fatalf("Put from a new process over damaged metadata: uploaded %v, %v", uploaded, err)
	}
	if _, err := agent.Get(ctx, "course1", b.Digest(), 0); err != nil {
		t.Errorf("Get after the new upload: %v", err)
	}
}

// victimWithBundle is a store where the frontend "victim" uploaded b, and
// an agent of it.
func victimWithBundle(t *testing.T) (srv *storeServer, victim, agent *Store, b *Bundle) {
	t.Helper()
	srv = newStoreServer(t)
	victim = srv.open(t, natsauth.RoleFrontend, "victim")
	agent = srv.open(t, natsauth.RoleAgent, "a1")
	b = packTree(t, sampleTask())
	if _, err := victim.Put(t.Context(), "victim", b); err != nil {
		t.Fatal(err)
	}
	return srv, victim, agent, b
}

// A frontend may damage its own bundles only: not erase the store (the
// object store before it took a rollup header from any frontend and
// purged every course's bundles), not append to or replace another
// client's, not read or list them, and not point an agent at them.
func TestStoreOneClientCannotHarmAnother(t *testing.T) {
	srv, _, agent, b := victimWithBundle(t)
	ctx := t.Context()
	s := messages.NewSubjects("")
	m, err := agent.meta(ctx, "victim", b.Digest())
	must(t, err)

	evilNC := testutil.ConnectAs(t, srv.url, "evil", testutil.Creds(t, natsauth.RoleFrontend, "evil"))
	evil, err := jetstream.New(evilNC)
	must(t, err)
	own := s.Bundles("evil") + "." + objectName(b.Digest())
	for _, rollup := range []string{"all", "sub"} {
		msg := nats.NewMsg(own + ".meta")
		msg.Header.Set(jetstream.MsgRollup, rollup)
		msg.Data = []byte("{}")
		if _, err := evil.PublishMsg(ctx, msg); err == nil {
			t.Errorf("the stream took a message with Nats-Rollup: %s", rollup)
		}
	}
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, time.Second)
		t.Cleanup(cancel)
		return c
	}
	for _, subject := range []string{
		s.Bundles("victim") + "." + objectName(b.Digest()) + ".data",
		s.Bundles("victim") + "." + objectName(b.Digest()) + ".meta",
	} {
		if _, err := evil.Publish(short(), subject, []byte("junk")); err == nil {
			t.Errorf("evil published on %s", subject)
		}
	}
	api := "$JS.API.DIRECT.GET." + s.BundleStream()
	for _, req := range []struct{ subject, body string }{
		{api, fmt.Sprintf(`{"seq":%d}`, m.Chunks[0])},
		{api + "." + s.Bundles("victim") + "." + objectName(b.Digest()) + ".meta", ""},
		{"$JS.API.STREAM.INFO." + s.BundleStream(), `{"subjects_filter":">"}`},
		{"$JS.API.STREAM.PURGE." + s.BundleStream(), ""},
	} {
		if _, err := evilNC.RequestWithContext(short(), req.subject, []byte(req.body)); err == nil {
			t.Errorf("evil was answered on %s", req.subject)
		}
	}
	// Evil knows the digest: its own metadata may name the victim's chunk,
	// and its jobs then still get nothing.
	body, err := json.Marshal(meta{Digest: b.Digest(), Size: m.Size, Chunks: m.Chunks})
	must(t, err)
	if _, err := evil.Publish(ctx, own+".meta", body); err != nil {
		t.Fatal(err)
	}
	if _, err := agent.Get(ctx, "evil", b.Digest(), 0); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("an agent's Get of evil's metadata = %v, want ErrDigestMismatch", err)
	}
	got, err := agent.Get(ctx, "victim", b.Digest(), 0)
	if err != nil || got.Digest() != b.Digest() {
		t.Fatalf("the victim's bundle after the attack: %v", err)
	}
}

// NATS stores on any subject of the stream whatever JetStream answer a
// frontend asks for with that subject as its reply: its own stored bytes
// and headers, an acknowledgement, a "404". On another client's metadata
// subject, none of it may keep that client's jobs from their bundle.
func TestStoreReflectionsIntoAnotherClientsSpace(t *testing.T) {
	srv, _, agent, b := victimWithBundle(t)
	ctx := t.Context()
	s := messages.NewSubjects("")
	evil := testutil.NewReflector(t, srv.url, "evil")
	own, err := OpenStore(testutil.ConnectAs(t, srv.url, "evil2", testutil.Creds(t, natsauth.RoleFrontend, "evil")), "")
	must(t, err)
	if _, err := own.Put(ctx, "evil", b); err != nil {
		t.Fatal(err)
	}
	evilMeta, err := agent.meta(ctx, "evil", b.Digest())
	must(t, err)
	forged, err := json.Marshal(evilMeta) // the right digest and size, evil's chunks
	must(t, err)
	target := s.Bundles("victim") + "." + objectName(b.Digest()) + ".meta"
	for _, attack := range []struct {
		name string
		send func()
	}{
		{"metadata naming the attacker's chunks", func() { evil.Stored(target, forged) }},
		{"an acknowledgement", func() { evil.APIAnswer(target) }},
		{"a 404 status", func() { evil.Missing(target) }},
		{"metadata without the server's headers", func() { evil.StoredBare(target, forged) }},
		{"marked metadata before a blank line that hides the server's headers", func() {
			evil.StoredRaw(target, []byte("NATS/1.0\r\n"+markHeader+": meta\r\n\r\nx\r\n\r\n"), forged)
		}},
		{"a 404 before a hidden blank line", func() {
			evil.StoredRaw(target, []byte("NATS/1.0 404 Message Not Found\r\n\r\nx\r\n\r\n"), nil)
		}},
	} {
		t.Run(attack.name, func(t *testing.T) {
			before := srv.msgs(t)
			attack.send()
			testutil.Eventually(t, 5*time.Second, func() bool { return srv.msgs(t) > before }, "the reflection stored")
			got, err := agent.Get(ctx, "victim", b.Digest(), 0)
			if err != nil || got.Digest() != b.Digest() {
				t.Fatalf("the victim's bundle after the reflection: %v", err)
			}
		})
	}
}

// Two uploads of one new bundle by one client at once (the bridge and the
// CLI with one identity at a deadline) both succeed, and leave it whole.
func TestStoreConcurrentUploads(t *testing.T) {
	srv := newStoreServer(t)
	ctx := t.Context()
	first, second := srv.open(t, natsauth.RoleFrontend, "course1"), srv.open(t, natsauth.RoleFrontend, "course1")
	b := bigTask(t)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, st := range []*Store{first, second} {
		wg.Go(func() { _, errs[i] = st.Put(ctx, "course1", b) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent Puts: %v", err)
	}
	if got, err := srv.open(t, natsauth.RoleAgent, "a1").Get(ctx, "course1", b.Digest(), 0); err != nil || got.Digest() != b.Digest() {
		t.Fatalf("an agent's Get after both uploads: %v", err)
	}
}

// A full store refuses new uploads with ErrStoreFull and keeps what it
// holds; a frontend keeps using a copy it could not refresh.
func TestStoreFull(t *testing.T) {
	srv := newStoreServer(t)
	ctx := t.Context()
	st, err := srv.js.Stream(ctx, messages.NewSubjects("").BundleStream())
	must(t, err)
	cfg := st.CachedInfo().Config
	cfg.MaxBytes = 3 * ChunkSize // under EnsureStore's least, for the test
	if _, err := srv.js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	front := srv.open(t, natsauth.RoleFrontend, "course1")
	first := bigTask(t) // over two chunks of the three
	if up, err := front.Put(ctx, "course1", first); err != nil || !up {
		t.Fatalf("first Put: uploaded %v, %v", up, err)
	}
	if _, err := front.Put(ctx, "course1", bigTask(t)); !errors.Is(err, ErrStoreFull) {
		t.Fatalf("Put into a full store = %v, want ErrStoreFull", err)
	}
	front.refreshAfter = 0
	if up, err := front.Put(ctx, "course1", first); err != nil || up {
		t.Errorf("refreshing a copy in a full store: uploaded %v, %v; want the copy kept", up, err)
	}
	if _, err := srv.open(t, natsauth.RoleAgent, "a1").Get(ctx, "course1", first.Digest(), 0); err != nil {
		t.Errorf("the first bundle after the store filled: %v", err)
	}
	if _, err := EnsureStore(ctx, testutil.ConnectAs(t, srv.url, "b2", testutil.Creds(t, natsauth.RoleBackend, "b2")), "",
		StoreConfig{MaxBytes: minStoreBytes - 1}); err == nil {
		t.Error("EnsureStore took a bound under its least")
	}
}

// Any replica answers a direct get, and one may not have the upload a
// frontend just made: agents on the other nodes of a cluster fetch every
// bundle right after its upload (about one fetch in twenty failed before
// Get asked again).
func TestStoreGetFromReplicasRightAfterPut(t *testing.T) {
	c := testutil.StartNATSCluster(t, 3)
	ctx := t.Context()
	stream := messages.NewSubjects("").BundleStream()
	backend := c.ConnectAs(c.URL(0), "backend", testutil.Creds(t, natsauth.RoleBackend, "backend"))
	if _, err := EnsureStore(ctx, backend, "", StoreConfig{Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(backend)
	must(t, err)
	var leader int
	testutil.Eventually(t, 30*time.Second, func() bool {
		st, err := js.Stream(ctx, stream)
		if err != nil || st.CachedInfo().Cluster == nil {
			return false
		}
		leader = c.IndexOfName(st.CachedInfo().Cluster.Leader)
		return leader >= 0
	}, "the bundle stream's leader")
	front, err := OpenStore(c.ConnectAs(c.URL(leader), "f", testutil.Creds(t, natsauth.RoleFrontend, "f")), "")
	must(t, err)
	var agents []*Store
	for i := range c.Size() {
		if i != leader {
			a, err := OpenStore(c.ConnectAs(c.URL(i), fmt.Sprint("a", i), testutil.Creds(t, natsauth.RoleAgent, fmt.Sprint("a", i))), "")
			must(t, err)
			agents = append(agents, a)
		}
	}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for range 12 {
				noise := make([]byte, 3*ChunkSize)
				_, _ = rand.Read(noise)
				b := packTree(t, map[string]file{"run": {body: "#!/bin/sh\n", mode: 0o755}, "d": {body: string(noise)}})
				if _, err := front.Put(ctx, "f", b); err != nil {
					t.Error(err)
					return
				}
				for _, a := range agents {
					if _, err := a.Get(ctx, "f", b.Digest(), 0); err != nil {
						t.Errorf("Get right after Put: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
}

// The job names the metadata its client wrote (TaskBundleMeta), so that
// no number of acknowledgements stored on the metadata's subject before
// it (whoever knows a client's id and a task's digest may have them
// stored there) hides it from the agent, whose walk for the newest reads
// at most maxMetaWalk messages; and naming another client's metadata
// gets nothing.
func TestStoreGetByMetaSeq(t *testing.T) {
	srv := newStoreServer(t)
	ctx := t.Context()
	b := packTree(t, sampleTask())
	target := messages.NewSubjects("").Bundles("victim") + "." + objectName(b.Digest()) + ".meta"
	evil := testutil.NewReflector(t, srv.url, "evil")
	before := srv.msgs(t)
	for range maxMetaWalk + 1 {
		evil.APIAnswer(target)
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return srv.msgs(t) >= before+2*(maxMetaWalk+1) }, "the acknowledgements stored")
	victim := srv.open(t, natsauth.RoleFrontend, "victim")
	if _, err := victim.Put(ctx, "victim", b); err != nil {
		t.Fatal(err)
	}
	seq := victim.MetaSeq("victim", b.Digest())
	evil.APIAnswer(target)
	agent := srv.open(t, natsauth.RoleAgent, "a1")
	if got, err := agent.Get(ctx, "victim", b.Digest(), seq); err != nil || got.Digest() != b.Digest() {
		t.Fatalf("Get by the metadata's sequence %d: %v", seq, err)
	}
	if _, err := agent.Get(ctx, "evil", b.Digest(), seq); err == nil {
		t.Error("a job of evil naming the victim's metadata got the victim's bundle")
	}
	if seq == 0 || victim.MetaSeq("evil", b.Digest()) != 0 {
		t.Errorf("MetaSeq: %d for the upload, %d for what was not uploaded", seq, victim.MetaSeq("evil", b.Digest()))
	}
}

// An upload that fails keeps the copy found only when the store is full:
// with the stream gone, Put says so and forgets what it uploaded; once a
// new stream's sequences begin again, it uploads anew what it had
// uploaded to the old one.
func TestStoreMadeAnew(t *testing.T) {
	srv := newStoreServer(t)
	ctx := t.Context()
	front := srv.open(t, natsauth.RoleFrontend, "course1")
	first, second := packTree(t, sampleTask()), bigTask(t)
	for _, b := range []*Bundle{first, second} {
		if _, err := front.Put(ctx, "course1", b); err != nil {
			t.Fatal(err)
		}
	}
	stream := messages.NewSubjects("").BundleStream()
	must(t, srv.js.DeleteStream(ctx, stream))
	front.refreshAfter = 0
	if up, err := front.Put(ctx, "course1", first); !errors.Is(err, ErrNoStore) || up {
		t.Fatalf("Put with the stream gone: uploaded %v, %v; want ErrNoStore", up, err)
	}
	front.refreshAfter = RefreshAfter
	nc := testutil.ConnectAs(t, srv.url, "b2", testutil.Creds(t, natsauth.RoleBackend, "b2"))
	if _, err := EnsureStore(ctx, nc, "", StoreConfig{}); err != nil {
		t.Fatal(err)
	}
	if up, err := front.Put(ctx, "course1", first); err != nil || !up {
		t.Fatalf("Put into the new stream: uploaded %v, %v", up, err)
	}
	// A process that was not told: the sequences begun again.
	other := srv.open(t, natsauth.RoleFrontend, "course1")
	if _, err := other.Put(ctx, "course1", second); err != nil {
		t.Fatal(err)
	}
	must(t, srv.js.DeleteStream(ctx, stream))
	if _, err := EnsureStore(ctx, nc, "", StoreConfig{}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Put(ctx, "course1", first); err != nil {
		t.Fatal(err)
	}
	if up, err := other.Put(ctx, "course1", second); err != nil || !up {
		t.Fatalf("Put of a bundle uploaded to the stream before: uploaded %v, %v; want a new upload", up, err)
	}
	if _, err := srv.open(t, natsauth.RoleAgent, "a1").Get(ctx, "course1", second.Digest(), other.MetaSeq("course1", second.Digest())); err != nil {
		t.Errorf("Get after the new upload: %v", err)
	}
}
