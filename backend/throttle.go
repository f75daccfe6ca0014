package backend

import (
	"time"

	"github.com/ingo-grader/ingo/internal/fairuse"
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
// about when agents are dropped for silence. Each client's budget is
// kept by a fairuse.Debts, used by the event loop only.

// defaultQueueBudget: 5 % of the loop, half a second at once, and 20
// cheap snapshots a second: far more than a web app's queue page asks for.
var defaultQueueBudget = fairuse.Budget{Share: 0.05, Burst: 500 * time.Millisecond, Least: 2500 * time.Microsecond}

// defaultAdminQueueBudget: a quarter of the loop, two seconds at once,
// and a millisecond a request at least (2,000 cheap snapshots at once).
var defaultAdminQueueBudget = fairuse.Budget{Share: 0.25, Burst: 2 * time.Second, Least: time.Millisecond}

// defaultHelloBudget bounds each agent id's hellos the same way. A
// hello of messages.MaxAgentEnvironments environments costs the loop a
// millisecond or so (decoding aside: the offer compared, counted and
// sorted, the list sent to every client), and an agent that sent them
// with other names as fast as it could (900 a second, 36 MB/s) kept the
// loop busy: a ping waited 1.9 s behind 1.4 s of them, and a longer flood
// got agents and clients dropped for silence. An agent says hello when it
// connects and when its images change: 500 at once is far more.
var defaultHelloBudget = fairuse.Budget{Share: 0.05, Burst: 500 * time.Millisecond, Least: time.Millisecond}
