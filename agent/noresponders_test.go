package agent

import (
	"context"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/containers/fake"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// With no backend listening, NATS bounces every hello and ping back to the
// agent's subject as an empty 503 status. That is news, not garbage: the
// agent must neither count it as malformed nor answer it.
func TestBackendAbsentBouncesAreNotMalformed(t *testing.T) {
	n := testutil.StartNATS(t)
	nc, err := natsconn.Connect(natsconn.Options{URL: n.URL, Creds: testutil.Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	a, err := New(nc, fake.New(fake.Options{}), nil, Config{ID: "lonely", HeartbeatInterval: 20 * time.Millisecond,
		FlushTimeout: 10 * time.Millisecond}, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	testutil.Eventually(t, wait, func() bool { return a.Stats().NoResponders >= 3 }, "bounces counted: %+v", a.Stats())
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := a.Stats(); s.Malformed != 0 {
		t.Fatalf("bounces counted as malformed: %+v", s)
	}
}
