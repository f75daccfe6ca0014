package frontendclient

// idSet remembers the last n ids added, forgetting the oldest first. It
// bounds what the client keeps about jobs it no longer follows.
type idSet struct {
	ids  map[string]struct{}
	ring []string
	next int
}

func newIDSet(n int) *idSet {
	return &idSet{ids: make(map[string]struct{}, n), ring: make([]string, n)}
}

func (s *idSet) add(id string) {
	if _, ok := s.ids[id]; ok {
		return
	}
	if old := s.ring[s.next]; old != "" {
		delete(s.ids, old)
	}
	s.ring[s.next] = id
	s.ids[id] = struct{}{}
	s.next = (s.next + 1) % len(s.ring)
}

func (s *idSet) has(id string) bool {
	_, ok := s.ids[id]
	return ok
}

// remove forgets id; its ring slot is reused in turn.
func (s *idSet) remove(id string) {
	if _, ok := s.ids[id]; !ok {
		return
	}
	delete(s.ids, id)
	for i, v := range s.ring {
		if v == id {
			s.ring[i] = ""
			return
		}
	}
}
