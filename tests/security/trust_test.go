package security

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// Attacks on what the backend and the bundle store trust: hidden task
// files, results, kills.

// hiddenMarker is the content of the hidden test file of attack 3.
const hiddenMarker = "expected output: 1 2 3 (hidden test, tests/security)"

// attackBundle (3): a frontend (or an admin) cannot read back a task
// bundle, hidden tests included, that another client uploaded, nor have
// its own jobs run with it by naming its digest.
func attackBundle(t *testing.T, s *suite) {
	dir := task(t, s.root, "secret", "hidden", "time: 10\nmemory: 100",
		"#!/bin/sh\ngrep -q 'expected output' tests/hidden.txt && feedback-result success || feedback-result failed\n",
		map[string]string{"tests/hidden.txt": hiddenMarker + "\n"})
	const owner = "security-hidden-owner" // the admin CLI's client id
	out, _, err := s.a.cli(t, "submit", dir, "--wait", "--json", "--set", "client.id="+owner)
	if err != nil {
		t.Fatal(err)
	}
	res, err := parseResult(out)
	if err != nil || res.Status != "success" {
		t.Fatalf("the admin's job on the hidden task: %+v %v", res, err)
	}
	b, err := bundle.Pack(dir, bundle.PackLimits{})
	if err != nil {
		t.Fatal(err)
	}
	digest := b.Digest()
	stream := subj.BundleStream()
	space := subj.Bundles(owner) + "." + strings.Replace(digest, ":", "-", 1)

	get := func(role natsauth.Role, name, from string) (*peer, *bundle.Bundle, error) {
		p := s.a.connect(t, s.a.mint(t, role, name))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		store, err := bundle.OpenStore(p.nc, "")
		if err != nil {
			return p, nil, err
		}
		got, err := store.Get(ctx, from, digest, 0)
		return p, got, err
	}
	short12 := digest[:len("sha256:")+12]
	for _, row := range []struct {
		name string
		role natsauth.Role
	}{{"frontend", natsauth.RoleFrontend}, {"admin", natsauth.RoleAdmin}} {
		attack(t, row.name+"-get", fmt.Sprintf("%s mallory downloads bundle %s… (secret/hidden, with its hidden test, uploaded by the admin CLI as %s) with bundle.Store.Get", row.role, short12, owner),
			func(t *testing.T, r *record) {
				p, got, err := get(row.role, "mallory-bundle-"+row.name, owner)
				if err == nil {
					r.add("DOWNLOADED %d bytes", got.Size())
					t.Fatal("the bundle was read")
				}
				// An admin may read any bundle's metadata (it uploads as
				// any client); the chunks it may not.
				v, verr := p.violation("")
				if verr != nil {
					v = "no violation reported"
				}
				r.add("refused (%s; %s)", short(strings.ReplaceAll(err.Error(), digest, short12+"…")), short(v))
			})
	}
	attack(t, "frontend-raw", "frontend mallory reads or lists the store's messages directly (STREAM.MSG.GET and DIRECT.GET by sequence, DIRECT.GET of the bundle's chunks and metadata, STREAM.INFO with its subjects, a subscription to the bundles)", func(t *testing.T, r *record) {
		p := s.a.connect(t, s.a.mint(t, natsauth.RoleFrontend, "mallory-raw"))
		for _, try := range []struct{ subject, op, body string }{
			{"$JS.API.STREAM.MSG.GET." + stream, "request", `{"seq":1}`},
			{"$JS.API.DIRECT.GET." + stream, "request", `{"seq":1}`},
			{"$JS.API.DIRECT.GET." + stream + "." + space + ".data", "request", ""},
			{"$JS.API.DIRECT.GET." + stream + "." + space + ".meta", "request", ""},
			{"$JS.API.STREAM.INFO." + stream, "request", `{"subjects_filter":">"}`},
			{subj.Bundles("*") + ".>", "subscribe", ""},
		} {
			var got *nats.Msg
			var err error
			if try.op == "subscribe" {
				_, err = p.subscribe(try.subject)
			} else {
				got, err = p.nc.Request(try.subject, []byte(try.body), 2*time.Second)
			}
			v, verr := p.violation(try.subject)
			if verr != nil {
				r.add("%s %s: ALLOWED (%v, %d bytes)", try.op, try.subject, err, msgLen(got))
				t.Error(verr)
				continue
			}
			r.add("%s %s refused (%s)", try.op, try.subject, short(v))
		}
		if n := p.received.Load(); n != 0 {
			t.Errorf("received %d chunk messages", n)
		}
	})
	attack(t, "frontend-digest", fmt.Sprintf("frontend mallory submits a job naming bundle %s… (it learnt the digest); its job must not get the hidden task's files", short12), func(t *testing.T, r *record) {
		c := s.a.client(t, natsauth.RoleFrontend, "mallory-digest")
		req := newJob(uuid.NewString(), "")
		req.TaskBundle = digest
		res := result(t, submit(t, c, req))
		r.add("the job ended %s: %s", res.Result.Status, short(res.Result.Text))
		if res.Result.Status == messages.StatusSuccess {
			t.Fatal("the job ran with another client's task files")
		}
	})
	attack(t, "agent-control", "control: an agent downloads the same bundle as the admin CLI's (agents may)", func(t *testing.T, r *record) {
		_, got, err := get(natsauth.RoleAgent, "security-reader", owner)
		if err != nil {
			r.add("failed (%v): the refusals above prove nothing", err)
			t.Fatal(err)
		}
		rd, err := got.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		zr, err := gzip.NewReader(rd)
		if err != nil {
			t.Fatal(err)
		}
		tar, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		found := bytes.Contains(tar, []byte(hiddenMarker))
		r.add("got %d bytes, the digest the frontend asked for; hidden test inside: %v", got.Size(), found)
		if !found {
			t.Error("the control download does not hold the hidden test")
		}
	})
}

func msgLen(m *nats.Msg) int {
	if m == nil {
		return 0
	}
	return len(m.Data)
}

// attackForgeResult (4): nobody but the agent that runs an attempt can
// end it; a forged result changes nothing.
func attackForgeResult(t *testing.T, s *suite) {
	forged := func(id string, attempt int) *messages.AgentJobDone {
		return &messages.AgentJobDone{JobID: id, Attempt: attempt, JobResult: messages.JobResult{
			Result: messages.Result{Status: messages.StatusSuccess, Text: "FORGED"}, Grade: 100}}
	}
	check := func(t *testing.T, r *record, res *messages.BackendJobDone) {
		r.add("the job's result: %s, grade %v, %q", res.Result.Status, res.Grade, res.Result.Text)
		if res.Result.Text != realText || res.Grade != 42 || res.Result.Status != messages.StatusSuccess {
			t.Errorf("the result is not the real grader's: %+v", res.JobResult)
		}
	}
	attack(t, "frontend", "frontend mallory publishes AgentJobDone (grade 100, FORGED) on the real agent's subject for a running job", func(t *testing.T, r *record) {
		id := "forged-by-frontend-" + uuid.NewString()[:8]
		j := submit(t, s.alice, newJob(id, s.sleeperTask(t, 4)))
		run := running(t, s.admin, id)
		p := s.a.connect(t, s.a.mint(t, natsauth.RoleFrontend, "mallory-forger"))
		target := subj.BackendAgent(run.AgentID)
		if err := p.publish(target, "", forged(id, run.Attempt)); err != nil {
			t.Fatal(err)
		}
		v, err := p.violation(target)
		if err != nil {
			r.add("publish on %s ALLOWED", target)
			t.Error(err)
		} else {
			r.add("publish on %s refused (%s)", target, short(v))
		}
		check(t, r, result(t, j))
	})
	attack(t, "agent", "agent mallory says AgentHello, then sends AgentJobDone (grade 100, FORGED) for the real agent's running attempt", func(t *testing.T, r *record) {
		id := "forged-by-agent-" + uuid.NewString()[:8]
		j := submit(t, s.alice, newJob(id, s.sleeperTask(t, 4)))
		run := running(t, s.admin, id)
		p := s.a.connect(t, s.a.mint(t, natsauth.RoleAgent, "mallory"))
		inbox := subj.Agent("mallory")
		if _, err := p.subscribe(inbox); err != nil {
			t.Fatal(err)
		}
		// No slots and no environments: the backend must never give
		// mallory a job of the suite's.
		hello := &messages.AgentHello{ProtocolVersion: messages.ProtocolVersion, FriendlyName: "mallory",
			AvailableEnvironments: map[string]map[string]messages.EnvironmentInfo{}, Session: uuid.NewString()}
		if err := p.publish(subj.BackendAgent("mallory"), inbox, hello); err != nil {
			t.Fatal(err)
		}
		if m := p.next(t, 10*time.Second); m != nil {
			r.add("hello answered %s", describe(m))
		}
		if err := p.publish(subj.BackendAgent("mallory"), inbox, forged(id, run.Attempt)); err != nil {
			t.Fatal(err)
		}
		answer := p.next(t, 10*time.Second)
		r.add("AgentJobDone for attempt %d (agent %s's) answered %s", run.Attempt, run.AgentID, describe(answer))
		if _, ok := answer.(*messages.Ack); ok {
			t.Error("the backend acknowledged the forged result")
		}
		check(t, r, result(t, j))
	})
}

// next decodes the next message the peer's subscriptions received, or
// returns nil after d.
func (p *peer) next(t *testing.T, d time.Duration) messages.Message {
	t.Helper()
	if len(p.pending) > 0 {
		m := p.pending[0]
		p.pending = p.pending[1:]
		return m
	}
	select {
	case m := <-p.msgs:
		msgs, err := testutil.DecodeAll(m.Data)
		if err != nil {
			t.Fatalf("undecodable answer on %s: %v", m.Subject, err)
		}
		p.pending = append(p.pending, msgs...)
		return p.next(t, d)
	case <-time.After(d):
		return nil
	}
}

func describe(m messages.Message) string {
	switch m := m.(type) {
	case nil:
		return "nothing"
	case *messages.Error:
		return fmt.Sprintf("Error %s %q", m.Code, m.Text)
	default:
		return m.MessageName()
	}
}

// attackKill (6): a frontend cannot kill a job it did not submit.
func attackKill(t *testing.T, s *suite) {
	dir := task(t, s.root, "security", "kill-target", "time: 30\nmemory: 100", sleeper(5), nil)
	sub := s.a.startCLI(t, "ingo submit kill-target", "submit", dir, "--wait", "--json")
	run := runningInfo(t, s.admin, "security/kill-target")
	bob := s.a.client(t, natsauth.RoleFrontend, "bob")
	attack(t, "frontendclient", "frontend bob kills the admin CLI's running job with frontendclient.KillJob", func(t *testing.T, r *record) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := bob.KillJob(ctx, run.JobID)
		var me *messages.Error
		switch {
		case err == nil:
			r.add("ACCEPTED")
			t.Error("the backend took bob's kill")
		case errors.As(err, &me):
			r.add("refused by the backend (%s)", short(me))
		default:
			r.add("failed (%s)", short(err))
		}
	})
	attack(t, "admin-subject", "frontend bob publishes ClientKillJob on the admins' subject "+subj.BackendAdmin("bob"), func(t *testing.T, r *record) {
		p := s.a.connect(t, s.a.mint(t, natsauth.RoleFrontend, "bob"))
		target := subj.BackendAdmin("bob")
		if err := p.publish(target, subj.Client("bob"), &messages.ClientKillJob{JobID: run.JobID}); err != nil {
			t.Fatal(err)
		}
		v, err := p.violation(target)
		if err != nil {
			r.add("ALLOWED")
			t.Error(err)
			return
		}
		r.add("refused (%s)", short(v))
	})
	attack(t, "outcome", "the admin CLI's job after bob's kills", func(t *testing.T, r *record) {
		waitProcess(t, sub, jobWait)
		res, err := parseResult(sub.Output())
		if err != nil {
			t.Fatal(err)
		}
		r.add("ended %s %q", res.Status, res.Text)
		if res.Status != "success" || !strings.Contains(res.Text, realText) {
			t.Errorf("the job was not left alone: %+v", res)
		}
	})
}
