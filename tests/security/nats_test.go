package security

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/messages"
)

// Attacks on NATS itself: who may connect, subscribe and publish where.

var subj = messages.NewSubjects("")

// attackConnect (1): nobody without credentials of this installation's
// keys connects.
func attackConnect(t *testing.T, s *suite) {
	other, err := natsauth.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.Mint(natsauth.RoleAdmin, "mallory", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []struct {
		name, what string
		opts       []nats.Option
	}{
		{"anonymous", "anonymous NATS client", nil},
		{"password", "NATS client with a user and password", []nats.Option{nats.UserInfo("admin", "admin")}},
		{"token", "NATS client with a token", []nats.Option{nats.Token("ingo")}},
		{"foreign-keys", "NATS client with admin credentials signed by another installation's keys", forged.NATSOptions()},
	} {
		attack(t, row.name, row.what, func(t *testing.T, r *record) {
			p, err := dial(s.a.natsURL, row.opts...)
			if err == nil {
				p.nc.Close()
				r.add("CONNECTED")
				t.Fatal("the server admitted it")
			}
			r.add("refused (%s)", short(err))
		})
	}
}

// attackSubscribe (2): a frontend cannot listen to anybody else's
// subjects or replies, and hears nothing of another frontend's job.
func attackSubscribe(t *testing.T, s *suite) {
	mallory := s.a.connect(t, s.a.mint(t, natsauth.RoleFrontend, "mallory"))
	for _, subject := range []string{
		">",
		"ingo.>",
		subj.Client("alice"),
		subj.Client("*"),
		"_INBOX.>",
		natsauth.InboxPrefix(natsauth.RoleFrontend, "alice") + ".>",
		natsauth.InboxPrefix(natsauth.RoleBackend, "*") + ".>",
		subj.Agent("*"),
		subj.BackendClient("alice"),
	} {
		attack(t, "sub "+subject, "frontend mallory subscribes to "+subject, func(t *testing.T, r *record) {
			if _, err := mallory.subscribe(subject); err != nil {
				r.add("refused by the client library (%v)", err)
				return
			}
			v, err := mallory.violation(subject)
			if err != nil {
				r.add("ALLOWED")
				t.Fatal(err)
			}
			r.add("refused (%s)", short(v))
		})
	}
	attack(t, "hears-nothing", "frontend mallory, subscribed as above and to its own subjects, while frontend alice's job runs", func(t *testing.T, r *record) {
		for _, own := range []string{subj.Client("mallory"), natsauth.InboxPrefix(natsauth.RoleFrontend, "mallory") + ".>"} {
			if _, err := mallory.subscribe(own); err != nil {
				t.Fatal(err)
			}
		}
		if err := mallory.nc.FlushTimeout(errWait); err != nil {
			t.Fatal(err)
		}
		before := mallory.received.Load()
		id := "eavesdropped-" + uuid.NewString()[:8]
		res := result(t, submit(t, s.alice, newJob(id, s.sleeperTask(t, 2))))
		if res.Result.Status != messages.StatusSuccess {
			t.Errorf("alice's job: %s %q", res.Result.Status, res.Result.Text)
		}
		// Anything the server would deliver to mallory was sent before
		// alice's result: a flush (a round trip after it) leaves no doubt.
		if err := mallory.nc.FlushTimeout(errWait); err != nil {
			t.Fatal(err)
		}
		n := mallory.received.Load() - before
		r.add("alice's job ended %s; mallory received %d messages", res.Result.Status, n)
		if n != 0 {
			t.Errorf("mallory received %d messages", n)
		}
	})
}

// attackPoseAsAgent (5): a frontend cannot say hello as an agent nor
// listen where agents get their jobs.
func attackPoseAsAgent(t *testing.T, s *suite) {
	mallory := s.a.connect(t, s.a.mint(t, natsauth.RoleFrontend, "mallory-agent"))
	attack(t, "hello", "frontend publishes AgentHello on "+subj.BackendAgent("fake"), func(t *testing.T, r *record) {
		hello := &messages.AgentHello{
			ProtocolVersion: messages.ProtocolVersion, FriendlyName: "fake", AvailableJobSlots: 8,
			AvailableEnvironments: map[string]map[string]messages.EnvironmentInfo{
				"docker": {"default": {ID: "sha256:fake", Created: time.Now().Unix() + 3600, Advertised: true}},
			},
			Session: uuid.NewString(),
		}
		if err := mallory.publish(subj.BackendAgent("fake"), subj.Agent("fake"), hello); err != nil {
			t.Fatal(err)
		}
		v, err := mallory.violation(subj.BackendAgent("fake"))
		if err != nil {
			r.add("ALLOWED")
			t.Fatal(err)
		}
		r.add("refused (%s)", short(v))
	})
	attack(t, "jobs", "frontend subscribes to "+subj.Agent("fake")+" and waits for a job", func(t *testing.T, r *record) {
		if _, err := mallory.subscribe(subj.Agent("fake")); err != nil {
			t.Fatal(err)
		}
		v, err := mallory.violation(subj.Agent("fake"))
		if err != nil {
			r.add("ALLOWED")
			t.Error(err)
		} else {
			r.add("refused (%s)", short(v))
		}
		id := "not-for-fake-" + uuid.NewString()[:8]
		j := submit(t, s.alice, newJob(id, s.sleeperTask(t, 1)))
		run := running(t, s.admin, id)
		res := result(t, j)
		if err := mallory.nc.FlushTimeout(errWait); err != nil {
			t.Fatal(err)
		}
		n := mallory.received.Load()
		r.add("a job submitted meanwhile ran on agent %q and ended %s; the fake agent received %d messages", run.AgentID, res.Result.Status, n)
		if n != 0 || run.AgentID == "fake" {
			t.Errorf("the fake agent got something: %d messages, job on %q", n, run.AgentID)
		}
	})
}

// attackLeaderKV (7): only the backend writes the backend's own state:
// the leader lease, the journal; nobody else reads the students' answers
// in it.
func attackLeaderKV(t *testing.T, s *suite) {
	bucket := subj.LeaderBucket()
	for _, role := range []natsauth.Role{natsauth.RoleFrontend, natsauth.RoleAgent} {
		p := s.a.connect(t, s.a.mint(t, role, "mallory-kv-"+string(role)))
		js, err := jetstream.New(p.nc)
		if err != nil {
			t.Fatal(err)
		}
		who := fmt.Sprintf("%s mallory", role)
		key := "$KV." + bucket + ".backend"
		for _, row := range []struct {
			name, what, subject string
			// try does it; for a plain publish, only the server's
			// violation tells (the call returns nil either way).
			try func(ctx context.Context) error
		}{
			{"publish", "publishes on " + key, key, func(context.Context) error {
				return p.nc.Publish(key, []byte("mallory"))
			}},
			{"js-publish", "JetStream-publishes the leader key (kv.Put's wire form) on " + key, key, func(ctx context.Context) error {
				_, err := js.Publish(ctx, key, []byte("mallory"))
				return err
			}},
			{"kv-put", "opens the KeyValue bucket " + bucket + " and puts the leader key", "$JS.API.STREAM.INFO.KV_" + bucket, func(ctx context.Context) error {
				kv, err := js.KeyValue(ctx, bucket)
				if err != nil {
					return err
				}
				_, err = kv.Put(ctx, "backend", []byte("mallory"))
				return err
			}},
			{"delete-bucket", "deletes the KeyValue bucket " + bucket, "$JS.API.STREAM.DELETE.KV_" + bucket, func(ctx context.Context) error {
				return js.DeleteKeyValue(ctx, bucket)
			}},
			{"delete-journal", "deletes the journal stream " + subj.JournalStream(), "$JS.API.STREAM.DELETE." + subj.JournalStream(), func(ctx context.Context) error {
				return js.DeleteStream(ctx, subj.JournalStream())
			}},
			{"delete-inputs", "deletes the jobs' inputs stream " + subj.JournalInputsStream(), "$JS.API.STREAM.DELETE." + subj.JournalInputsStream(), func(ctx context.Context) error {
				return js.DeleteStream(ctx, subj.JournalInputsStream())
			}},
			{"read-inputs", "reads other students' answers from " + subj.JournalInputsStream() + " with a direct get", "$JS.API.DIRECT.GET." + subj.JournalInputsStream(), func(ctx context.Context) error {
				_, err := p.nc.RequestWithContext(ctx, "$JS.API.DIRECT.GET."+subj.JournalInputsStream(), []byte(`{"seq":1}`))
				return err
			}},
		} {
			attack(t, string(role)+"-"+row.name, who+" "+row.what, func(t *testing.T, r *record) {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				err := row.try(ctx)
				v, verr := p.violation(row.subject)
				switch {
				case verr == nil:
					r.add("refused (%s; the call: %s)", short(v), short(errText(err)))
				case err != nil && row.name != "publish":
					r.add("refused (%s)", short(err))
				default:
					r.add("ALLOWED (the call: %s)", errText(err))
					t.Fatal(verr)
				}
			})
		}
	}
	attack(t, "still-leading", "after the writes above, the backend of ingo up", func(t *testing.T, r *record) {
		code, body, err := s.a.get("/readyz", "")
		if err != nil || code != http.StatusOK || !strings.Contains(body, "ready") {
			t.Fatalf("/readyz: %d %s %v", code, body, err)
		}
		id := "after-kv-" + uuid.NewString()[:8]
		res := result(t, submit(t, s.alice, newJob(id, s.sleeperTask(t, 0))))
		r.add("/readyz %d ready; a new job ended %s %q", code, res.Result.Status, res.Result.Text)
		if res.Result.Status != messages.StatusSuccess || res.Result.Text != realText {
			t.Errorf("new job: %s %q", res.Result.Status, res.Result.Text)
		}
	})
}

func errText(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}
