package docker

import (
	"context"
	"io"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// attached is a created container, attached (stdin, stdout, stderr) before
// its start, so that none of its output is lost, and waited for from
// before its start, so that its exit cannot be missed. Grading and student
// containers are both run so.
type attached struct {
	conn     types.HijackedResponse
	copied   chan error    // the output copy's end (stdcopy's error)
	ended    chan struct{} // closed when the output copy ended
	exited   <-chan container.WaitResponse
	waitErr  <-chan error
	stopWait context.CancelFunc
}

// attach attaches to container id and copies its stdout and stderr
// (demultiplexed) to the writers; onEnd, if set, runs when that copy ends,
// with its error.
// The attach call is bounded by APITimeout; ctx's cancellation does not cut
// it (the caller checks ctx afterwards).
func (r *Runtime) attach(ctx context.Context, id string, stdout, stderr io.Writer, onEnd func(error)) (*attached, error) {
	actx, cancel := r.apiCtx(context.WithoutCancel(ctx))
	conn, err := r.api.ContainerAttach(actx, id, container.AttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	cancel()
	if err != nil {
		return nil, err
	}
	a := &attached{conn: conn, copied: make(chan error, 1), ended: make(chan struct{})}
	go func() {
		_, err := stdcopy.StdCopy(stdout, stderr, conn.Reader)
		if onEnd != nil {
			onEnd(err)
		}
		close(a.ended)
		a.copied <- err
	}()
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stopWait = stop
	a.exited, a.waitErr = r.api.ContainerWait(wctx, id, container.WaitConditionNextExit)
	return a, nil
}

// close stops waiting and closes the attach stream.
func (a *attached) close() {
	a.stopWait()
	a.conn.Close()
}

// start starts container id, bounded by APITimeout whatever ctx does.
func (r *Runtime) start(ctx context.Context, id string) error {
	actx, cancel := r.apiCtx(context.WithoutCancel(ctx))
	defer cancel()
	return r.api.ContainerStart(actx, id, container.StartOptions{})
}

// drain waits for the end of the output once the container stopped (the
// stream ends with it), at most streamDrainTimeout, then cuts the stream.
// It returns the copy's error, or ctx's cause when ctx ends first.
func (a *attached) drain(ctx context.Context) error {
	select {
	case err := <-a.copied:
		return err
	case <-time.After(streamDrainTimeout):
		a.conn.Close()
		return <-a.copied
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
