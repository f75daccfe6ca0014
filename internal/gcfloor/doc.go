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
// is small, and nothing once it is large: with a million queued jobs the
// backend's live heap is about 500 MiB, GOGC's own headroom is larger than
// the floor, and the collector runs exactly as without this package, which
// keeps such a backend within its memory budget.
//
// # How
//
// After each collection (a finalizer on a sentinel object, armed again
// each cycle, runs once the collector finished) the percent is set to the
// larger of the process's own (GOGC at Start, normally 100) and the floor
// over the live heap (runtime/metrics "/gc/heap/live:bytes"). A memory
// limit (GOMEMLIMIT) still applies: the runtime collects before it is
// reached, whatever the percent. The cost is one read of a runtime
// metric per collection. Start does nothing when GOGC is off.
package gcfloor
