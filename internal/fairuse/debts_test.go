package fairuse

import (
	"fmt"
	"testing"
	"time"
)

// TestDebtsForgetsWhatIsPaid: clients that asked once and paid back
// are forgotten as others come. Before, every id that was ever charged
// stayed: the CLI asks under a new id each time.
func TestDebtsForgetsWhatIsPaid(t *testing.T) {
	th := Debts{Budget: Budget{Share: 0.25, Burst: 2 * time.Second, Least: time.Millisecond}} // the backend's for an admin
	now := time.Unix(0, 0)
	for i := range 10_000 {
		id := fmt.Sprint("cli-", i)
		if !th.Allow(id, now) {
			t.Fatalf("%s refused", id)
		}
		th.Charge(id, time.Millisecond, now)
		now = now.Add(time.Second)
	}
	if n := th.Len(); n > 200 {
		t.Fatalf("%d debts kept, all but a few paid back long ago", n)
	}
}

// TestDebtsPaidBack: a debt is paid back at the budget's share of the
// time since.
func TestDebtsPaidBack(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name  string
		took  time.Duration // charged at t0
		after time.Duration
		want  bool
	}{
		{"nothing owed", 0, 0, true},
		{"within the burst", 400 * time.Millisecond, 0, true},
		{"the whole burst", 500 * time.Millisecond, 0, false},
		{"over, not yet paid back", time.Second, 9 * time.Second, false},
		{"over, paid back to within the burst", time.Second, 11 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := Debts{Budget: Budget{Share: 0.05, Burst: 500 * time.Millisecond, Least: 2500 * time.Microsecond}} // the backend's for a frontend
			if tt.took > 0 {
				th.Charge("c", tt.took, t0)
			}
			if got := th.Allow("c", t0.Add(tt.after)); got != tt.want {
				t.Fatalf("allow = %v, want %v", got, tt.want)
			}
			if !th.Allow("other", t0) {
				t.Fatal("another client is refused")
			}
		})
	}
}
