package testutil

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
)

// RunWait bounds how long Run waits for a component to stop.
const RunWait = 10 * time.Second

// Run starts fn (a component's Run) on its own goroutine and, when the
// test ends, cancels its context and waits for it: it must return nil
// within RunWait.
func Run(t testing.TB, name string, fn func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case <-time.After(RunWait):
			t.Errorf("%s did not stop within %v", name, RunWait)
		}
	})
}

// Connect opens a NATS connection with ingo's reconnect policy (a short
// wait, for tests that restart servers), closed when the test ends, as the
// Superuser.
func Connect(t testing.TB, url, name string) *nats.Conn {
	t.Helper()
	return ConnectAs(t, url, name, Superuser(t))
}

// ConnectAs is Connect with the credentials creds.
func ConnectAs(t testing.TB, url, name string, creds *natsauth.Credentials) *nats.Conn {
	t.Helper()
	return connectAs(t, natsconn.Options{URL: url, Name: name, Creds: creds})
}

func connectAs(t testing.TB, o natsconn.Options) *nats.Conn {
	t.Helper()
	o.ReconnectWait = 50 * time.Millisecond
	nc, err := natsconn.Connect(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// SuperJS is a JetStream handle of the superuser on the server at url,
// closed with the test: to make streams as another version would, or to
// look at them.
func SuperJS(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(Connect(t, url, "superuser"))
	if err != nil {
		t.Fatal(err)
	}
	return js
}
