// Package gcfloor keeps a floor under the garbage collector's headroom:
// the next collection starts no sooner than a given number of bytes past
// the live heap.
//
// # Why
//
// Go collects when the heap grows by GOGC percent (100) of what the last
// collection found live. An ingo process at a deadline keeps a small live
// heap (tens of MiB) and allocates fast (every message decoded and
// encoded), so it collected many times a second: 13% of the backend's,
// the agents' and a client's CPU per job in the benchmark of separate
// processes (tests/bench, TestProcessReport; GOGC=400 took the backend
// from 75 to 66 µs per job). A fixed floor of headroom (cmd/ingo: 256 MiB
// for the backend, whose live heap grows with the jobs it remembers, 64 MiB
// for the other commands) costs at most that much memory while the heap
// is small, and nothing once it is large.
//
// A large heap has the opposite need. With a million queued jobs the
// backend's live heap is about 500 MiB, and GOGC's doubling took the
// process past 1 GiB as the queue filled (1,029-1,105 MiB), the budget
// issue 15 sets. So a process may also cap the growth past the floor at a
// smaller percent of the live heap (Floor.CapGrowth; cmd/ingo: 70 for the
// backend once it serves, not during its replay, which must be quick): the
// heap then grows by the floor or by that percent of the live heap,
// whichever is more, and never by more than GOGC's; the goal falls
// smoothly from GOGC's to the cap as the live heap grows past the floor.
//
// # How
//
// After each collection (a finalizer on a sentinel object, armed again
// each cycle, runs once the collector finished) the floor reads what the
// collector found (runtime/metrics: the live heap, the stacks and globals
// it scanned) and, while the live heap is smaller than the floor, sets the
// percent whose goal is the live heap plus the floor (the runtime
// multiplies the percent by the live heap with its stacks and globals,
// and its least goal, 4 MiB, too), never below the process's own percent
// (GOGC at Start, normally 100). Once the live heap is as large as the
// floor, the process's own percent applies again, or the cap's.
//
// A percent made for a small heap is dangerous on a large one: if the
// next collection came before the finalizer (a busy process), a percent
// of 2,000 set at 10 MiB live would let a heap that grew to 300 MiB reach
// 6 GiB. So while the floor applies it also sets a memory limit at twice
// the heap goal it meant plus what the runtime holds beside the heap
// (stacks, metadata), which makes the runtime collect by then whatever
// the percent; an operator's GOMEMLIMIT below that stays the limit. Found the
// hard way: without the stacks, globals and least goal counted, the first
// collection of a backend replaying a million jobs came at 643 MB instead
// of 256, and its RSS as it started serving was 1.5 GiB instead of 0.9.
//
// The cost is one read of runtime metrics per collection. Start does
// nothing when GOGC is off.
package gcfloor
