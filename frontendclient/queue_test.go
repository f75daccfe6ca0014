package frontendclient

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

func TestQueue(t *testing.T) {
	snapshot := &messages.BackendGetQueue{
		JobsRunning: []messages.QueueRunningJob{{JobID: "r1", IsMine: true, Agent: "a1", AgentID: "agent-1", Info: "c/t", MaxTime: 30, Attempt: 1, EnvironmentType: "docker", Environment: "default"}},
		JobsWaiting: []messages.QueueWaitingJob{{JobID: "w1", Info: "c/t", MaxTime: -1, Position: 1, Reason: messages.WaitSlotsBusy, Attempt: 1, EnvironmentType: "docker", Environment: "default"}},
		Agents:      []messages.QueueAgent{{AgentID: "agent-1", Name: "a1", Slots: 4, Running: 1, Environments: []string{"docker/default"}}},
	}
	tests := []struct {
		name  string
		calls int
	}{
		{"one call", 1},
		{"concurrent calls", 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			e.fb.set(func(fb *fakeBackend) { fb.queue = snapshot })
			ctx, cancel := contextWithGuard(t)
			defer cancel()
			var wg sync.WaitGroup
			got := make([]*messages.BackendGetQueue, tt.calls)
			errs := make([]error, tt.calls)
			for i := range tt.calls {
				wg.Go(func() { got[i], errs[i] = e.c.Queue(ctx) })
			}
			wg.Wait()
			for i := range tt.calls {
				if errs[i] != nil {
					t.Fatalf("call %d: %v", i, errs[i])
				}
				if !reflect.DeepEqual(got[i], snapshot) {
					t.Errorf("call %d: %+v, want %+v", i, got[i], snapshot)
				}
			}
		})
	}
}

func TestQueueNoAnswer(t *testing.T) {
	e := newEnv(t, Options{})
	e.fb.set(func(fb *fakeBackend) { fb.mute = true })
	c, _ := newClient(t, e.nats.URL, Options{RequestTimeout: 50 * time.Millisecond})
	if _, err := c.Queue(t.Context()); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("Queue = %v, want ErrNoAnswer", err)
	}
}

// TestQueueThrottled: a request the backend refuses as over the client's
// share fails its call at once, naming the refusal; before, the refusal
// named no request, and the call waited for its timeout (the HTTP API
// answered 504 after it, for a backend that had answered at once).
func TestQueueThrottled(t *testing.T) {
	e := newEnv(t, Options{})
	e.fb.set(func(fb *fakeBackend) { fb.throttle = true })
	c, _ := newClient(t, e.nats.URL, Options{RequestTimeout: 2 * time.Second})
	calls := []struct {
		name string
		call func() error
	}{
		{"Queue", func() error { _, err := c.Queue(t.Context()); return err }},
		{"QueryQueue", func() error { _, err := c.QueryQueue(t.Context(), messages.ClientGetQueue{PerQueue: 5}); return err }},
	}
	for _, tt := range calls {
		// Waiting for the timeout would end in ErrNoAnswer.
		err := tt.call()
		var me *messages.Error
		if !errors.As(err, &me) || me.Code != messages.CodeThrottled {
			t.Errorf("%s = %v, want the throttled refusal", tt.name, err)
		}
	}
}

// QueryQueue pages while Queue calls wait alongside: each call gets the
// answer to its own request.
func TestQueryQueuePages(t *testing.T) {
	e := newEnv(t, Options{})
	e.fb.set(func(fb *fakeBackend) {
		fb.queue = &messages.BackendGetQueue{JobsWaiting: []messages.QueueWaitingJob{{JobID: "w1"}}}
	})
	ctx, cancel := contextWithGuard(t)
	defer cancel()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if q, err := e.c.Queue(ctx); err != nil || len(q.JobsWaiting) != 1 || q.JobsWaiting[0].JobID != "w1" {
				t.Errorf("Queue = %+v, %v", q, err)
			}
		})
	}
	var ids []string
	req := messages.ClientGetQueue{Limit: 1}
	for {
		q, err := e.c.QueryQueue(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range q.JobsWaiting {
			ids = append(ids, w.JobID)
		}
		if q.Next == nil {
			break
		}
		req.After = q.Next
	}
	wg.Wait()
	if want := []string{"p1", "p2", "p3"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("pages %v, want %v", ids, want)
	}
	if _, err := e.c.QueryQueue(ctx, messages.ClientGetQueue{Limit: messages.MaxQueuePage + 1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("over the bound: %v, want ErrInvalid", err)
	}
}
