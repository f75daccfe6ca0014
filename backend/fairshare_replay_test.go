package backend

import (
	"testing"
	"time"
)

// TestFairShare_AfterReplay: a backend restarted while one course floods
// shares the slots among the waiting courses as the one before it did.
// The replay taught the estimates the time from each journaled job's
// start to the replay instead of its run (34 s for jobs of 1 s), and a
// course with a job running was charged that much in advance: in a
// deadline run, two courses had no job start for 40 s after a backend
// restart while the third one's flood ran.
func TestFairShare_AfterReplay(t *testing.T) {
	s := newSim(t, 4, nil)
	s.submit("flood", "u", 400, time.Second)
	for s.now < 30*time.Second && s.step() {
	}
	s.submit("c1", "u", 40, time.Second)
	s.submit("c3", "u", 40, time.Second)
	for s.now < 40*time.Second && s.step() {
	}
	s.fill()

	// The backend dies and a new one replays the journal 3 s later.
	s.now += 3 * time.Second
	b2, err := New(nil, DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b2.now, b2.share.now = s.b.now, s.b.now
	for _, tr := range s.log {
		b2.apply(tr)
	}
	for k, u := range b2.share.use {
		if isCourse(k) && u.est > 2 {
			t.Errorf("course %s: estimated hold %.1f s after the replay, its jobs run 1 s", k.course, u.est)
		}
	}
	s.b = b2
	for i := range s.running {
		s.running[i].j = b2.jobs[s.running[i].j.id()]
		s.running[i].end += 3 * time.Second
	}
	s.slotT = map[string]time.Duration{}
	s.stopAt = s.now + 10*time.Second
	for s.now < s.stopAt && s.step() {
	}
	for _, c := range []string{"c1", "c3"} {
		if got := s.slotT[c]; got < 10*time.Second { // a third of 4 slots for 10 s would be 13 s
			t.Errorf("course %s had %v of the 40 s of slots in the 10 s after the restart (flood %v, c1 %v, c3 %v)",
				c, got, s.slotT["flood"], s.slotT["c1"], s.slotT["c3"])
		}
	}
}
