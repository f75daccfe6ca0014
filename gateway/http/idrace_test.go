package api

import (
	"testing"
	"time"
)

// first is the first of two results.
func first[A, B any](a A, _ B) A { return a }

// TestClaimKeepsTheFirstSubmittersJob: two tokens submitting one job id
// at once. Before, each checked that the id was unknown, then registered
// it (the second registration returned the first's record), and the
// loser, refused as a duplicate by the client library or the backend,
// forgot the id: the winner's own job then answered it 404 (GET, events,
// kill) while it waited and ran. The id is now checked and registered at
// once, and a refusal forgets only the record it registered.
func TestClaimKeepsTheFirstSubmittersJob(t *testing.T) {
	st := newStore(1 << 20)
	now := time.Now()
	won := first(st.claim("x-1", "frontend:alpha", "algo", now, 0, 0))
	if won == nil {
		t.Fatal("the first claim of an id was refused")
	}
	lost := first(st.claim("x-1", "frontend:beta", "algo", now, 0, 0))
	if lost != nil {
		// The loser goes on as postJob does: the backend refuses its
		// submission, which forgets its record.
		st.forget(lost)
		t.Error("the second claim of an id was granted")
	}
	_, owner, ok := st.view("x-1")
	if !ok || owner != "frontend:alpha" {
		t.Errorf("after the loser's refusal: known %v, owner %q; want the winner's record", ok, owner)
	}
	st.forget(won)
	if known, _ := st.has("x-1"); known {
		t.Error("the winner's own refusal left its record")
	}
	if first(st.claim("x-1", "frontend:alpha", "algo", now, 0, 0)) == nil {
		t.Error("a retry after a refusal was refused")
	}
}
