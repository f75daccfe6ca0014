package history_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// TestOneFrontendCannotHoldEveryReader: a frontend that keeps many
// requests in flight, each a walk of the whole index (a page of another
// frontend's course, of which it has no job), holds a few of the
// history's readers, not all: another frontend's requests are answered
// meanwhile, none "busy". Before, it held every reader and the other's
// requests were refused about half of the time.
func TestOneFrontendCannotHoldEveryReader(t *testing.T) {
	n, nc, st := historyOn(t)
	const records = 20000
	for i := range records {
		client, course := "victim", "algo"
		if i == 0 {
			client, course = "evil", "other"
		}
		st.Add(&messages.JobRecord{JobID: fmt.Sprintf("j%d", i), ClientID: client, CourseID: course, TaskID: "t",
			EnvironmentType: "docker", Environment: "default", JobResult: messages.NewJobResult(messages.StatusSuccess, "", "")})
	}
	testutil.Eventually(t, 30*time.Second, func() bool { return st.Settled(fmt.Sprintf("j%d", records-1)) }, "the records were never stored")
	srv, err := st.Serve(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	walk, err := messages.Encode(&messages.ClientGetHistory{CourseID: "algo", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	evil, victim := frontend(t, n, "evil"), frontend(t, n, "victim")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var refused atomic.Int64
	for range 64 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				m, err := evil.Request(subj.HistoryClient("evil"), walk, wait)
				if err != nil {
					continue
				}
				if e, ok := decodeAnswer(m.Data).(*messages.Error); ok && e.Code == messages.CodeUnavailable {
					refused.Add(1)
				}
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	testutil.Eventually(t, wait, func() bool { return refused.Load() > 100 }, "the flood was never refused anything")

	busy := 0
	for range 50 {
		m, err := victim.Request(subj.HistoryClient("victim"), walk, wait)
		if err != nil {
			t.Fatal(err)
		}
		switch a := decodeAnswer(m.Data).(type) {
		case *messages.BackendHistory:
			if len(a.Jobs) != 10 {
				t.Fatalf("the victim's page has %d jobs", len(a.Jobs))
			}
		case *messages.Error:
			busy++
		}
	}
	if busy > 0 {
		t.Fatalf("%d of the victim's 50 requests were refused during another frontend's flood", busy)
	}
}

func decodeAnswer(data []byte) messages.Message {
	m, err := messages.Decode(data)
	if err != nil {
		return nil
	}
	return m
}
