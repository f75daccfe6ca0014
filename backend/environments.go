package backend

import (
	"fmt"
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

// failOrphans ends the waiting jobs of queues that have had no agent for
// OrphanTimeout: they were accepted while their environment existed, and
// would otherwise wait forever. Jobs whose client asked to wait stay.
func (b *Backend) failOrphans() {
	now := b.now()
	for t, q := range b.queues.byTopic {
		if q.Len() == 0 || b.offered(t) {
			delete(b.orphaned, t)
			continue
		}
		since, ok := b.orphaned[t]
		if !ok {
			b.orphaned[t] = now
			continue
		}
		if now.Sub(since) < b.cfg.OrphanTimeout {
			continue
		}
		var victims []*job
		q.each(func(j *job) {
			if !j.head.WaitForEnvironment {
				victims = append(victims, j)
			}
		})
		for _, j := range victims {
			b.finish(j, messages.NewJobResult(messages.StatusCrash,
				fmt.Sprintf("No agent has offered the environment %s for %v. Please submit again later.", t, b.cfg.OrphanTimeout),
				b.previousState(j)))
		}
		delete(b.orphaned, t)
	}
}
