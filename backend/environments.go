package backend

import (
	"maps"
	"slices"

	"github.com/ingo-grader/ingo/messages"
)

// offered reports whether some registered agent offers t.
func (b *Backend) offered(t topic) bool {
	for _, a := range b.agents {
		if slices.Contains(a.topics, t) {
			return true
		}
	}
	return false
}

// updateEnvironments recomputes the advertised environments and tells
// every client when they changed. Unlike INGInious, an environment leaves
// the list once no agent offers it any more.
func (b *Backend) updateEnvironments() {
	set := map[string]map[string]bool{}
	for _, a := range b.agents {
		for typ, names := range a.envs {
			for name, info := range names {
				if !info.Advertised {
					continue
				}
				if set[typ] == nil {
					set[typ] = map[string]bool{}
				}
				set[typ][name] = true
			}
		}
	}
	adv := make(map[string][]string, len(set))
	for typ, names := range set {
		adv[typ] = slices.Sorted(maps.Keys(names))
	}
	if maps.EqualFunc(adv, b.advertised, slices.Equal) {
		return
	}
	b.advertised = adv
	msg := &messages.BackendUpdateEnvironments{AvailableEnvironments: adv}
	for id := range b.clients {
		b.toClient(id, msg)
	}
}
