package backend

import (
	"time"
)

// A queue snapshot costs the event loop far more than its request's few
// bytes: the dispatch order of the first Config.SnapshotJobs waiting jobs
// is played forward for it, each pick weighing every course's fair share,
// also for a frontend that has no job (about 0.1 s with 5,000 waiting jobs
// of 50 courses). The loop serves everybody, so a frontend that sent
// snapshot requests as fast as NATS carries them (20 batches of 1,024, 100
// KB) held it for half an hour: nobody's pings, jobs or results were
// handled, and agents and clients were dropped for silence. So each
// frontend's snapshots may take a share of the loop's time, measured.
// An admin's have a larger share: the HTTP API is one admin that asks for
// all its tokens, and a frontend token's 600 requests of GET
// /api/v1/queue in 16 s left other clients' pings unanswered for 4.7 s,
// about when agents are dropped for silence.
type queueBudget struct {
	// share is the fraction of the loop's time a frontend's snapshots
	// may take, sustained.
	share float64
	// burst is the loop time a frontend may take at once, after a quiet
	// while.
	burst time.Duration
	// least is what a request costs at least, however fast: it bounds
	// the count of cheap ones (burst/least at once, share/least a second).
	least time.Duration
}

// defaultQueueBudget: 5 % of the loop, half a second at once, and 20
// cheap snapshots a second: far more than a web app's queue page asks for.
var defaultQueueBudget = queueBudget{share: 0.05, burst: 500 * time.Millisecond, least: 2500 * time.Microsecond}

// defaultAdminQueueBudget: a quarter of the loop, two seconds at once,
// and a millisecond a request at least (2,000 cheap snapshots at once).
var defaultAdminQueueBudget = queueBudget{share: 0.25, burst: 2 * time.Second, least: time.Millisecond}

// defaultHelloBudget bounds each agent id's hellos the same way. A
// hello of messages.MaxAgentEnvironments environments costs the loop a
// millisecond or so (decoding aside: the offer compared, counted and
// sorted, the list sent to every client), and an agent that sent them
// with other names as fast as it could (900 a second, 36 MB/s) kept the
// loop busy: a ping waited 1.9 s behind 1.4 s of them, and a longer flood
// got agents and clients dropped for silence. An agent says hello when it
// connects and when its images change: 500 at once is far more.
var defaultHelloBudget = queueBudget{share: 0.05, burst: 500 * time.Millisecond, least: time.Millisecond}

// throttle is the loop time each client's snapshots took and have not
// yet paid back, by client id. Only the event loop uses it. Debts paid
// back are swept as the map grows: the CLI asks under a new client id
// each time, so an admin's ids come and go (a script polling `ingo queue`
// every 10 s left 8,600 entries a day).
type throttle struct {
	budget queueBudget
	debts  map[string]*debt
	swept  int // the debts left by the last sweep
}

type debt struct {
	owed time.Duration
	at   time.Time
}

// allow says whether id may have a snapshot at now: whether what it owes,
// paid back at the budget's share since, is within the burst.
func (t *throttle) allow(id string, now time.Time) bool {
	d := t.debts[id]
	if d == nil {
		return true
	}
	if since := now.Sub(d.at); since > 0 {
		d.owed -= time.Duration(float64(since) * t.budget.share)
		d.at = now
	}
	if d.owed <= 0 {
		delete(t.debts, id)
		return true
	}
	return d.owed < t.budget.burst
}

// charge adds the loop time a snapshot of id took, at least the least.
func (t *throttle) charge(id string, took time.Duration, now time.Time) {
	if t.debts == nil {
		t.debts = map[string]*debt{}
	}
	d := t.debts[id]
	if d == nil {
		if len(t.debts) > 2*t.swept+64 {
			t.sweep(now)
		}
		d = &debt{at: now}
		t.debts[id] = d
	}
	d.owed += max(took, t.budget.least)
}

// sweep forgets the debts paid back by now. Called when the map doubled
// since the last sweep: amortized, a constant per charge.
func (t *throttle) sweep(now time.Time) {
	for id, d := range t.debts {
		if d.owed <= time.Duration(float64(now.Sub(d.at))*t.budget.share) {
			delete(t.debts, id)
		}
	}
	t.swept = len(t.debts)
}
