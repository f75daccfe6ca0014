package security

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/messages"
)

// peer is a raw NATS connection of the attacker's, which keeps the
// server's asynchronous errors (-ERR 'Permissions Violation ...') and
// counts every message its subscriptions receive.
type peer struct {
	nc       *nats.Conn
	mu       sync.Mutex
	errs     []error
	received atomic.Int64
	msgs     chan *nats.Msg // what the subscriptions received, the first ones
	// pending holds the rest of a batch next took a message from.
	pending []messages.Message
}

// dial connects to url with opts, without reconnecting: an attacker's
// connection, which the test wants to see refused, not retried.
func dial(url string, opts ...nats.Option) (*peer, error) {
	p := &peer{msgs: make(chan *nats.Msg, 256)}
	opts = append([]nats.Option{
		nats.Name("security-attacker"),
		nats.NoReconnect(),
		nats.Timeout(5 * time.Second),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			p.mu.Lock()
			p.errs = append(p.errs, err)
			p.mu.Unlock()
		}),
	}, opts...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, err
	}
	p.nc = nc
	return p, nil
}

// connect is dial as the holder of creds, closed when the test ends.
func (in *installation) connect(t *testing.T, creds *natsauth.Credentials) *peer {
	t.Helper()
	p, err := dial(in.natsURL, creds.NATSOptions()...)
	if err != nil {
		t.Fatalf("connect as %s %s: %v", creds.Role, creds.Name, err)
	}
	t.Cleanup(p.nc.Close)
	return p
}

// subscribe subscribes to subject and counts what arrives; the error is
// the client library's (a bad subject), not the server's verdict.
func (p *peer) subscribe(subject string) (*nats.Subscription, error) {
	return p.nc.Subscribe(subject, func(m *nats.Msg) {
		p.received.Add(1)
		select {
		case p.msgs <- m:
		default:
		}
	})
}

// violation waits until the server has said that an operation on subject
// broke the connection's permissions, and returns what it said (taking
// it, so that the next operation on that subject needs its own), or an
// error when it said nothing of the kind within errWait: the server
// allowed it. subject "" takes a violation of any subject.
func (p *peer) violation(subject string) (string, error) {
	if err := p.nc.FlushTimeout(errWait); err != nil {
		return "", fmt.Errorf("flush: %w", err)
	}
	quoted := `"` + strings.ToLower(subject) + `"`
	deadline := time.Now().Add(errWait)
	for {
		p.mu.Lock()
		for i, err := range p.errs {
			s := strings.ToLower(err.Error())
			if !errors.Is(err, nats.ErrPermissionViolation) && !strings.Contains(s, "permissions violation") {
				continue
			}
			if subject == "" || strings.Contains(s, quoted) {
				p.errs = append(p.errs[:i], p.errs[i+1:]...)
				p.mu.Unlock()
				return err.Error(), nil
			}
		}
		p.mu.Unlock()
		if time.Now().After(deadline) {
			what := subject
			if what == "" {
				what = "any subject"
			}
			return "", fmt.Errorf("no permissions violation for %s within %v after a flush: the server allowed it", what, errWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// publish sends m on subject (with reply, when not "").
func (p *peer) publish(subject, reply string, m messages.Message) error {
	data, err := messages.Encode(m)
	if err != nil {
		return err
	}
	return p.nc.PublishMsg(&nats.Msg{Subject: subject, Reply: reply, Data: data})
}

// client is a frontendclient.Client of this installation: the frontend
// name (client id = name, as NATS requires), or an admin.
func (in *installation) client(t *testing.T, role natsauth.Role, name string) *frontendclient.Client {
	t.Helper()
	creds := in.mint(t, role, name)
	nc, err := nats.Connect(in.natsURL, append(creds.NATSOptions(), nats.Name("security-"+name),
		nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))...)
	if err != nil {
		t.Fatalf("connect %s %s: %v", role, name, err)
	}
	c, err := frontendclient.New(context.Background(), nc, frontendclient.Options{
		Name: "security-" + name, ClientID: name, Admin: role == natsauth.RoleAdmin,
	})
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		nc.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("%s %s: %v", role, name, err)
	}
	return c
}

// newJob is a request for the task folder dir on docker/default, with
// the limits the run files of the suite need.
func newJob(id, dir string) frontendclient.JobRequest {
	return frontendclient.JobRequest{
		ClientNewJob: messages.ClientNewJob{
			JobDescription: messages.JobDescription{
				JobID: id, CourseID: "security", TaskID: id,
				EnvironmentType: "docker", Environment: "default",
				EnvironmentParameters: messages.EnvironmentParameters{Limits: messages.Limits{Time: 30, Memory: 128}},
				InputData:             map[string]any{"@username": "student"},
			},
			Launcher: "tests/security",
		},
		TaskDir: dir,
	}
}

// submit submits req through c and returns its job.
func submit(t *testing.T, c *frontendclient.Client, req frontendclient.JobRequest) *frontendclient.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), jobWait)
	defer cancel()
	j, err := c.NewJob(ctx, req)
	if err != nil {
		t.Fatalf("submit %s: %v", req.JobID, err)
	}
	return j
}

// result waits for j's result.
func result(t *testing.T, j *frontendclient.Job) *messages.BackendJobDone {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), jobWait)
	defer cancel()
	r, err := j.Wait(ctx)
	if err != nil {
		t.Fatalf("job %s: no result: %v", j.ID(), err)
	}
	return r
}

// running waits until the admin's queue shows job id running, and
// returns its entry (agent id, attempt).
func running(t *testing.T, admin *frontendclient.Client, id string) messages.QueueRunningJob {
	t.Helper()
	return runningWhere(t, admin, "job "+id, func(r messages.QueueRunningJob) bool { return r.JobID == id })
}

// runningInfo waits until a job of info ("course/task") runs, for jobs
// the CLI submitted (whose id the test does not choose).
func runningInfo(t *testing.T, admin *frontendclient.Client, info string) messages.QueueRunningJob {
	t.Helper()
	return runningWhere(t, admin, "a job of "+info, func(r messages.QueueRunningJob) bool { return r.Info == info })
}

func runningWhere(t *testing.T, admin *frontendclient.Client, what string, match func(messages.QueueRunningJob) bool) messages.QueueRunningJob {
	t.Helper()
	deadline := time.Now().Add(jobWait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		q, err := admin.Queue(ctx)
		cancel()
		if err == nil {
			for _, r := range q.JobsRunning {
				if match(r) {
					return r
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not running within %v (last queue error: %v)", what, jobWait, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
