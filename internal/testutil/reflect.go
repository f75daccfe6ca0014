package testutil

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/messages"
)

// Reflector is a frontend that has the NATS server send what it chooses
// on subjects it may not publish on: it stores bytes as bundle metadata in
// its own space, then asks for them with the target as the reply subject,
// which NATS does not check against its permissions; or it publishes there
// with the target as the reply, for the stream's JSON acknowledgement.
type Reflector struct {
	t      testing.TB
	js     jetstream.JetStream
	stream string
	meta   string
}

// NewReflector connects a frontend named name to url, and makes sure the
// bundle stream of the default prefix exists (made with a backend's
// rights, as a backend makes it: package internal/bundle, which imports
// this one, so its layout is spelt out here).
func NewReflector(t testing.TB, url, name string) *Reflector {
	t.Helper()
	subj := messages.NewSubjects("")
	owner, err := natsconn.Connect(natsconn.Options{URL: url, Name: "bundle store owner", Creds: Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	ojs, err := jetstream.New(owner)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ojs.CreateOrUpdateStream(context.Background(), jetstream.StreamConfig{
		Name:        subj.BundleStream(),
		Subjects:    []string{subj.Bundles("*") + ".>"},
		AllowDirect: true,
	}); err != nil {
		t.Fatal(err)
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
	return &Reflector{t: t, js: js, stream: subj.BundleStream(), meta: subj.Bundles(name) + ".forged.meta"}
}

// Stored has the server send data on to, as a direct get's answer (with
// the headers of one).
func (r *Reflector) Stored(to string, data []byte) { r.StoredWith(to, nil, data) }

// StoredWith is Stored of a message stored with headers h too, which a
// direct get's answer carries beside its own.
func (r *Reflector) StoredWith(to string, h nats.Header, data []byte) {
	r.t.Helper()
	if _, err := r.js.PublishMsg(context.Background(), &nats.Msg{Subject: r.meta, Header: h, Data: data}); err != nil {
		r.t.Fatalf("store the forged bytes: %v", err)
	}
	r.ask("$JS.API.DIRECT.GET."+r.stream+"."+r.meta, to, nil)
}

// APIAnswer has the server send a JetStream answer (JSON, a publish's
// acknowledgement) on to.
func (r *Reflector) APIAnswer(to string) {
	r.t.Helper()
	r.ask(r.meta, to, []byte("forged"))
}

func (r *Reflector) ask(subject, reply string, data []byte) {
	r.t.Helper()
	nc := r.js.Conn()
	if err := nc.PublishRequest(subject, reply, data); err != nil {
		r.t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		r.t.Fatal(err)
	}
}
