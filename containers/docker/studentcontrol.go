package docker

import (
	"context"
	"errors"
	"io"

	"github.com/hashicorp/yamux"

	"github.com/ingo-grader/ingo/containers/channel"
)

// controls are a run_student call's Control lines, read from its
// KindStudent stream from the call's start: a call waiting for a student
// slot holds nothing unread there (each stream could hold a window of
// what the caller sent), a caller that leaves while it waits frees its
// place at once, and its signals wait for the container.
type controls struct {
	signals chan string   // valid signal names, in order
	gone    chan struct{} // closed when the caller's stream ended before the job did
	done    chan struct{} // closed by the call at its end
}

// watchControls reads ctl's Control lines until it ends (the helper's
// proxy closes it once the agent dropped it, at the call's end).
func (c *jobChannel) watchControls(ctl *yamux.Stream) *controls {
	k := &controls{signals: make(chan string, 8), gone: make(chan struct{}), done: make(chan struct{})}
	go func() {
		lines := channel.NewLines[channel.Control](ctl)
		for {
			m, err := lines.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) || c.ctx.Err() == nil {
					close(k.gone)
				}
				return
			}
			if m.Signal == "" || !validSignal(m.Signal) {
				continue
			}
			select {
			case k.signals <- m.Signal:
			case <-k.done:
				return
			}
		}
	}()
	return k
}

// relaySignals sends the call's signals to student container id until the
// call ends; k.gone, closed when the caller went away, makes the
// supervisor kill the container.
func (c *jobChannel) relaySignals(k *controls, id string) {
	go func() {
		for {
			select {
			case sig := <-k.signals:
				kctx, cancel := c.r.apiCtx(context.WithoutCancel(c.ctx))
				_ = c.r.api.ContainerKill(kctx, id, "SIG"+sig)
				cancel()
			case <-k.done:
				return
			}
		}
	}()
}
