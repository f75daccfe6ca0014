package backend

import (
	"fmt"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/fairuse"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/messages"
)

// TestAgentHelloFloodThrottled: an agent that says hello over and over,
// each time offering MaxAgentEnvironments other environments, has its
// hellos past its share refused, and others are answered meanwhile.
// Before, each hello cost the loop a millisecond or so, and 3,000 sent in
// 1.4 s held a ping 1.9 s behind them: a longer flood got agents and
// clients dropped for silence.
func TestAgentHelloFloodThrottled(t *testing.T) {
	tight := fairuse.Budget{Share: 0.05, Burst: 20 * time.Millisecond, Least: time.Millisecond}
	r := newRig(t, func(c *Config) { c.helloBudget = tight })
	a := r.agent("a", 1, "docker/default")
	offer := func(k int) map[string]map[string]messages.EnvironmentInfo {
		m := map[string]map[string]messages.EnvironmentInfo{"docker": {}}
		for i := range messages.MaxAgentEnvironments {
			m["docker"][fmt.Sprintf("e%d-%d", k, i)] = messages.EnvironmentInfo{ID: "img", Advertised: true}
		}
		return m
	}
	offers := []map[string]map[string]messages.EnvironmentInfo{offer(0), offer(1)}
	const hellos = 200
	for i := range hellos {
		if err := natsconn.Send(a.NC, a.Target, a.Subject, &messages.AgentHello{ProtocolVersion: messages.ProtocolVersion,
			FriendlyName: "agent a", AvailableJobSlots: 1, AvailableEnvironments: offers[i%2], Session: a.session}); err != nil {
			t.Fatal(err)
		}
	}
	acks, refused := 0, 0
	deadline := time.After(30 * time.Second)
	for acks+refused < hellos {
		select {
		case m := <-a.Inbox:
			switch m := m.(type) {
			case *messages.Ack:
				acks++
			case *messages.Error:
				if m.Code != messages.CodeThrottled {
					t.Fatalf("got %+v", m)
				}
				refused++
			}
		case <-deadline:
			t.Fatalf("%d hellos answered of %d", acks+refused, hellos)
		}
	}
	// The burst (20 ms at 1 ms at least each) and what paid back meanwhile.
	if acks > hellos/2 || refused == 0 {
		t.Errorf("%d hellos taken, %d refused: want most refused", acks, refused)
	}
	if got := r.b.Stats().Throttled; got != int64(refused) {
		t.Errorf("Throttled = %d, want %d", got, refused)
	}
}
