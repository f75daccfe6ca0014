package fairuse

import "sync"

// InFlight counts the requests of each key being served. It is safe for
// concurrent use; its zero value is ready.
type InFlight struct {
	mu   sync.Mutex
	busy map[string]int
}

// Take counts a request of key, if key has fewer than limit in flight.
func (f *InFlight) Take(key string, limit int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.busy == nil {
		f.busy = map[string]int{}
	}
	if f.busy[key] >= limit {
		return false
	}
	f.busy[key]++
	return true
}

// Give ends a request Take counted.
func (f *InFlight) Give(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.busy[key]--; f.busy[key] <= 0 {
		delete(f.busy, key)
	}
}
