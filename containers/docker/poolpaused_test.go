package docker

import (
	"testing"

	"github.com/docker/docker/api/types/container"
)

// TestPool_PausedIdleContainerNotUsed: a warm container someone paused
// (docker pause) still reads Running, but its processes are frozen: a job
// handed it would sit until its wall time and end as the student's
// timeout. The pool does not hand it out.
func TestPool_PausedIdleContainerNotUsed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		state container.State
		alive bool
	}{
		{"running", container.State{Running: true, Pid: 42}, true},
		{"paused", container.State{Running: true, Paused: true, Pid: 42}, false},
		{"stopped", container.State{Pid: 0}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := tc.state
			f := &inspectFake{fakeAPI: fakeAPI{events: blockEvents}, state: &st}
			r := newRuntime(f, quiet())
			defer r.Close()
			p := &pool{r: r, known: map[string]bool{}}
			w := &warm{c: running{id: "c1"}}
			if got := p.alive(t.Context(), w) != 0; got != tc.alive {
				t.Errorf("alive = %v, want %v (state %+v)", got, tc.alive, st)
			}
		})
	}
}
