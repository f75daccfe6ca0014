package journal

import (
	"container/list"
	"sync"
)

// recentBatches holds the messages read last (batches, or input
// messages), by stream sequence, up to a number of bytes, the least
// recently used going first. A message never changes once stored, so
// what it holds stays right.
//
// Why bytes and not a few messages: the fair share takes the next job of
// the user with the least slot time, and with jobs of uneven lengths the
// users drift apart, so the loads of a deadline's queue wander over the
// batches of tens of thousands of jobs. With 64 messages kept, a drain of
// 100,000 waiting jobs read a 64 KiB message for every second job (5,000–
// 6,000 jobs/s); with 256, one for every 8 jobs, and with 1,024 one per
// batch (9,900 jobs/s, the rate the benchmark allows).
type recentBatches struct {
	mu     sync.Mutex
	budget int                      // bytes kept at most (0: recentBytes)
	bytes  int                      // bytes kept
	order  list.List                // of *recentBatch, the most recently used first
	bySeq  map[uint64]*list.Element // seq -> its element of order
}

type recentBatch struct {
	seq  uint64
	data []byte
}

// recentBytes is what each of the journal's two caches (batches, input
// messages) keeps at most: 512 input messages of 64 KiB.
const recentBytes = 32 << 20

func (r *recentBatches) get(seq uint64) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.bySeq[seq]
	if !ok {
		return nil
	}
	r.order.MoveToFront(e)
	return e.Value.(*recentBatch).data
}

func (r *recentBatches) put(seq uint64, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bySeq == nil {
		r.bySeq = map[uint64]*list.Element{}
	}
	if r.budget <= 0 {
		r.budget = recentBytes
	}
	if e, ok := r.bySeq[seq]; ok {
		r.order.MoveToFront(e)
		return
	}
	r.bySeq[seq] = r.order.PushFront(&recentBatch{seq, data})
	r.bytes += len(data)
	for r.bytes > r.budget && r.order.Len() > 1 {
		last := r.order.Back()
		b := r.order.Remove(last).(*recentBatch)
		delete(r.bySeq, b.seq)
		r.bytes -= len(b.data)
	}
}
