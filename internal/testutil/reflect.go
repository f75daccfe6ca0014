package testutil

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/messages"
)

// Reflector has the NATS server send what it chooses on a subject: it
// stores bytes as bundle metadata in a space of its own, then asks for
// them with the target as the reply subject, which NATS does not check
// against the asker's permissions; or it publishes there with the target
// as the reply, for the stream's JSON acknowledgement. Any frontend may
// have acknowledgements and statuses sent so; until protocol 4 it could
// ask for its own stored bytes too (a direct get of its bundle metadata),
// which frontends may not any more, and nor may any role but the backend.
// The receivers' defences stand against every shape regardless: the
// Reflector has a superuser's rights, and uses only reflections.
type Reflector struct {
	t         testing.TB
	url, name string
	js        jetstream.JetStream
	stream    string
	meta      string
}

// NewReflector connects to url as the superuser, stores under the bundle
// space of client name, and makes sure the
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
	return &Reflector{t: t, url: url, name: name, js: SuperJS(t, url), stream: subj.BundleStream(), meta: subj.Bundles(name) + ".forged.meta"}
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

// StoredBare is Stored of an answer without headers (a direct get asked
// for with {"no_hdr":true}): the bytes alone, as a candidate for a key
// would write them.
func (r *Reflector) StoredBare(to string, data []byte) {
	r.t.Helper()
	if _, err := r.js.Publish(context.Background(), r.meta, data); err != nil {
		r.t.Fatalf("store the forged bytes: %v", err)
	}
	r.ask("$JS.API.DIRECT.GET."+r.stream+"."+r.meta, to, []byte(`{"no_hdr":true}`))
}

// StoredRaw is Stored of a message stored with the header block raw,
// byte for byte, as a client that speaks NATS' protocol itself may send
// it where nats.go would not: a blank line inside (which hides the
// headers a direct get appends), a line without a colon. raw must be at
// least 18 bytes.
func (r *Reflector) StoredRaw(to string, raw, data []byte) {
	r.t.Helper()
	const head, tail = "NATS/1.0\r\nZz: ", "\r\n\r\n"
	pad := len(raw) - len(head) - len(tail)
	if pad < 0 {
		r.t.Fatalf("a raw header block of %d bytes: want at least %d", len(raw), len(head)+len(tail))
	}
	value := strings.Repeat("P", pad)
	placeholder := []byte(head + value + tail)
	opts := append(Superuser(r.t).NATSOptions(),
		nats.SetCustomDialer(rewriteDialer{from: placeholder, to: raw}))
	nc, err := nats.Connect(r.url, opts...)
	if err != nil {
		r.t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: r.meta, Header: nats.Header{"Zz": {value}}, Data: data}); err != nil {
		r.t.Fatalf("store the raw header block: %v", err)
	}
	r.ask("$JS.API.DIRECT.GET."+r.stream+"."+r.meta, to, nil)
}

// rewriteDialer's connections replace from with to (of the same length)
// in what the client writes.
type rewriteDialer struct{ from, to []byte }

func (d rewriteDialer) Dial(network, addr string) (net.Conn, error) {
	c, err := net.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	return &rewriteConn{Conn: c, from: d.from, to: d.to}, nil
}

type rewriteConn struct {
	net.Conn
	from, to []byte
}

func (c *rewriteConn) Write(b []byte) (int, error) {
	return c.Conn.Write(bytes.ReplaceAll(b, c.from, c.to))
}

// Missing has the server send a direct get's "404" status on to.
func (r *Reflector) Missing(to string) {
	r.t.Helper()
	r.ask("$JS.API.DIRECT.GET."+r.stream+"."+r.meta+".none", to, nil)
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
