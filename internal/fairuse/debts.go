package fairuse

import "time"

// Budget is the share of a server's time each key may take.
type Budget struct {
	// Share is the fraction of the time a key may take, sustained.
	Share float64
	// Burst is the time a key may take at once, after a quiet while.
	Burst time.Duration
	// Least is what a request costs at least, however fast: it bounds
	// the count of cheap ones (Burst/Least at once, Share/Least a second).
	Least time.Duration
}

// Debts is the time each key's requests took and have not yet paid back
// at the Budget's share. It is not safe for concurrent use. Debts paid
// back are swept as the map grows: keys may come and go (the CLI asks
// under a new client id each time).
type Debts struct {
	Budget Budget
	debts  map[string]*debt
	swept  int // the debts left by the last sweep
}

type debt struct {
	owed time.Duration
	at   time.Time
}

// Allow says whether key may have a request at now: whether what it
// owes, paid back at the budget's share since, is within the burst.
func (t *Debts) Allow(key string, now time.Time) bool {
	d := t.debts[key]
	if d == nil {
		return true
	}
	if since := now.Sub(d.at); since > 0 {
		d.owed -= time.Duration(float64(since) * t.Budget.Share)
		d.at = now
	}
	if d.owed <= 0 {
		delete(t.debts, key)
		return true
	}
	return d.owed < t.Budget.Burst
}

// Charge adds the time a request of key took, at least the Least.
func (t *Debts) Charge(key string, took time.Duration, now time.Time) {
	if t.debts == nil {
		t.debts = map[string]*debt{}
	}
	d := t.debts[key]
	if d == nil {
		if len(t.debts) > 2*t.swept+64 {
			t.sweep(now)
		}
		d = &debt{at: now}
		t.debts[key] = d
	}
	d.owed += max(took, t.Budget.Least)
}

// Len is the number of keys that owe something or were not swept yet.
func (t *Debts) Len() int { return len(t.debts) }

// sweep forgets the debts paid back by now. Called when the map doubled
// since the last sweep: amortized, a constant per charge.
func (t *Debts) sweep(now time.Time) {
	for key, d := range t.debts {
		if d.owed <= time.Duration(float64(now.Sub(d.at))*t.Budget.Share) {
			delete(t.debts, key)
		}
	}
	t.swept = len(t.debts)
}
