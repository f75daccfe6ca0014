package testutil

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/messages"
)

// Reflector is a frontend that has the NATS server send what it chooses
// on subjects it may not publish on: it stores bytes as bundle metadata,
// then asks for them (or for a JetStream API answer) with the target as
// the reply subject, which NATS does not check against its permissions.
type Reflector struct {
	t      testing.TB
	js     jetstream.JetStream
	bucket string
}

// NewReflector connects a frontend named name to url, and makes sure the
// bundle store of the default prefix exists (made with a backend's
// rights, as a backend makes it).
func NewReflector(t testing.TB, url, name string) *Reflector {
	t.Helper()
	bucket := messages.NewSubjects("").TaskBundleStore()
	owner, err := natsconn.Connect(natsconn.Options{URL: url, Name: "bundle store owner", Creds: Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	ojs, err := jetstream.New(owner)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ojs.ObjectStore(context.Background(), bucket); err != nil {
		if _, err := ojs.CreateObjectStore(context.Background(), jetstream.ObjectStoreConfig{Bucket: bucket}); err != nil {
			t.Fatal(err)
		}
	}
	nc, err := natsconn.Connect(natsconn.Options{URL: url, Name: name, Creds: Creds(t, natsauth.RoleFrontend, name)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return &Reflector{t: t, js: js, bucket: bucket}
}

// Stored has the server send data on to, as a direct get's answer (with
// the headers of one).
func (r *Reflector) Stored(to string, data []byte) {
	r.t.Helper()
	meta := "$O." + r.bucket + ".M.forged"
	if _, err := r.js.Publish(context.Background(), meta, data); err != nil {
		r.t.Fatalf("store the forged bytes: %v", err)
	}
	r.ask("$JS.API.DIRECT.GET.OBJ_"+r.bucket+"."+meta, to)
}

// APIAnswer has the server send a JetStream API answer (JSON) on to.
func (r *Reflector) APIAnswer(to string) {
	r.t.Helper()
	r.ask("$JS.API.STREAM.INFO.OBJ_"+r.bucket, to)
}

func (r *Reflector) ask(subject, reply string) {
	r.t.Helper()
	nc := r.js.Conn()
	if err := nc.PublishRequest(subject, reply, nil); err != nil {
		r.t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		r.t.Fatal(err)
	}
}
