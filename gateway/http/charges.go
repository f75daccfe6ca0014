package api

import "time"

// A frontend token's jobs not finished yet are charged their encoded size
// (Options.MaxUnfinishedBytes): the backend's job journal is every
// client's, and one token's jobs waiting for an environment nobody offers
// filled it for everyone. A charge lives on the job's record from claim
// until its result (done) or the backend's refusal (forget); a submission
// the backend did not answer keeps its charge apart (abandon), since the
// backend may have the job.

// abandonedTTL is how long an unanswered submission's charge is kept when
// neither its result nor its owner's retry comes: the backend did not
// answer it (it was away, or far behind), so it may never have had the
// job, and a frontend that submits under new ids while the backend is
// away must not be refused for good.
const abandonedTTL = 10 * time.Minute

// abandonedCharge is an unanswered submission's charge.
type abandonedCharge struct {
	owner  string
	charge int64
	at     time.Time
}

// claim registers a job of course that owner is submitting, charging
// charge to owner's unfinished jobs, and returns its record. It returns
// nil and -1 when the id is known already (any owner's), the submission
// then being a duplicate; nil and what owner's unfinished jobs hold when
// the charge would take them over limit (0: no bound). Checked and
// registered at once: before, two tokens' submissions of one id could
// both find it unknown, and the loser's refusal (duplicate_job) forgot the
// winner's record, so that the winner's own job answered it 404 (GET,
// events, kill) while it waited and ran.
func (st *store) claim(id, owner, course string, now time.Time, charge, limit int64) (*record, int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.expireAbandonedLocked(now)
	if st.jobs[id] != nil {
		return nil, -1
	}
	held := st.unfinished[owner]
	took := int64(0) // what an abandoned submission of this id holds
	a, retry := st.abandoned[id]
	if retry = retry && a.owner == owner; retry {
		// Its owner's retry takes its charge over, the larger of the two:
		// the same id with a larger body must not pass uncharged.
		took = a.charge
		charge = max(charge, a.charge)
	}
	if charge > 0 && limit > 0 && held-took+charge > limit {
		return nil, held
	}
	if retry {
		delete(st.abandoned, id)
	}
	r := st.addLocked(id, now)
	r.owner, r.course = owner, course
	if charge > 0 {
		r.charge = charge
		st.unfinished[owner] += charge - took
	}
	return r, 0
}

// abandon drops the record claim gave for a submission that went
// unanswered, keeping its charge (store.abandoned) until the job's result
// arrives, its owner retries it, or abandonedTTL passes.
func (st *store) abandon(claimed *record, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if r := st.dropLocked(claimed); r != nil && r.charge > 0 {
		st.abandoned[r.id] = abandonedCharge{owner: r.owner, charge: r.charge, at: now}
		st.abandonOrder = append(st.abandonOrder, abandonedAt{id: r.id, at: now})
		r.charge = 0
	}
}

// forget drops the record claim gave for a job the backend refused,
// unless it has a result; another record of the id stays.
func (st *store) forget(claimed *record) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if r := st.dropLocked(claimed); r != nil {
		st.dischargeLocked(r)
	}
}

// dropLocked removes the record claim gave, unless it has a result or
// another record of the id took its place, and returns it (nil if kept).
func (st *store) dropLocked(claimed *record) *record {
	r := st.jobs[claimed.id]
	if r != claimed || r.status == statusDone {
		return nil
	}
	delete(st.jobs, r.id)
	st.bytes -= r.bytes
	return r
}

// dischargeLocked ends r's charge to its owner's unfinished jobs.
func (st *store) dischargeLocked(r *record) {
	st.unchargeLocked(r.owner, r.charge)
	r.charge = 0
}

// releaseAbandonedLocked ends the charge an unanswered submission of id
// left, if any.
func (st *store) releaseAbandonedLocked(id string) {
	if a, ok := st.abandoned[id]; ok {
		delete(st.abandoned, id)
		st.unchargeLocked(a.owner, a.charge)
	}
}

func (st *store) unchargeLocked(owner string, charge int64) {
	if charge == 0 {
		return
	}
	if st.unfinished[owner] -= charge; st.unfinished[owner] <= 0 {
		delete(st.unfinished, owner)
	}
}

// abandonedAt is an entry of store.abandonOrder.
type abandonedAt struct {
	id string
	at time.Time
}

// expireAbandonedLocked releases the charges abandoned before now minus
// abandonedTTL, oldest first. An entry of abandonOrder whose charge was
// released meanwhile, or whose id was abandoned again since (another
// time), is skipped.
func (st *store) expireAbandonedLocked(now time.Time) {
	for len(st.abandonOrder) > 0 {
		e := st.abandonOrder[0]
		if now.Sub(e.at) < abandonedTTL {
			return
		}
		st.abandonOrder = st.abandonOrder[1:]
		if a, ok := st.abandoned[e.id]; ok && a.at.Equal(e.at) {
			st.releaseAbandonedLocked(e.id)
		}
	}
}
