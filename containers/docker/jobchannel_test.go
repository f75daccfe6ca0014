package docker

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/channel"
	"github.com/ingo-grader/ingo/messages"
)

// TestJobChannel_Result: the result comes only on the channel's result
// stream, whole and within the attempt's bound; anything else is no
// result (the runtime's crash) or over the bound (its error).
func TestJobChannel_Result(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		streams []string // raw result streams the helper opens, in order
		max     int64
		want    string
		wantErr error // nil: any error but these two when want is ""
	}{
		{"whole", []string{"INGO-RESULT 5\nhello"}, 10, "hello", nil},
		{"at the bound", []string{"INGO-RESULT 10\n0123456789"}, 10, "0123456789", nil},
		{"over the bound", []string{"INGO-RESULT 11\nhello world"}, 10, "", channel.ErrResultTooLarge},
		{"cut short", []string{"INGO-RESULT 9\nhello"}, 10, "", nil},
		{"not framed", []string{"hello"}, 10, "", nil},
		{"none", nil, 10, "", errNoResult},
		{"the first counts", []string{"INGO-RESULT 5\nfirst", "INGO-RESULT 6\nsecond"}, 10, "first", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRuntime(&fakeAPI{events: blockEvents}, quiet())
			defer r.Close()
			a := &attempt{job: &containers.Job{Desc: &messages.JobDescription{}}, maxResult: tt.max}
			ch := newJobChannel(r, a, "grading", "")
			agentIn, helperOut := io.Pipe()
			helperIn, agentOut := io.Pipe()
			if err := ch.start(agentIn, agentOut); err != nil {
				t.Fatal(err)
			}
			sess, err := yamux.Client(muxConn{helperIn, helperOut}, channel.Config())
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				helperIn.Close() // else Close waits for the session's reader
				sess.Close()
			}()
			for _, raw := range tt.streams {
				st, err := sess.OpenStream()
				if err != nil {
					t.Fatal(err)
				}
				if err := channel.WriteHeader(st, channel.Header{Kind: channel.KindResult}); err != nil {
					t.Fatal(err)
				}
				_, _ = io.WriteString(st, raw)
				_ = st.Close() // half-close: the agent still answers by closing its side
				// As the helper: wait for the agent to close the stream.
				_ = st.SetReadDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.Copy(io.Discard, st); err != nil {
					t.Fatalf("the agent did not close the result stream: %v", err)
				}
			}
			ch.close()
			data, err := ch.takenResult()
			switch {
			case tt.want != "":
				if err != nil || string(data) != tt.want {
					t.Errorf("result %q, %v; want %q", data, err, tt.want)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("result %q, %v; want %v", data, err, tt.wantErr)
				}
			case err == nil || errors.Is(err, channel.ErrResultTooLarge) || errors.Is(err, errNoResult):
				t.Errorf("result %q, %v; want a broken result", data, err)
			}
		})
	}
}

// halfPipe is the container's stdin as the attach stream gives it: its
// write side ends alone (CloseWrite), and the helper reads EOF.
type halfPipe struct{ *io.PipeWriter }

func (p halfPipe) CloseWrite() error { return p.PipeWriter.Close() }

// TestJobChannel_FloodEndsHelperSession: a container that floods its
// channel with streams past the bounds loses it, and its helper's session
// ends with it, so that none of the helper's opens can wait on: an open
// waiting for a SYN slot when the GoAway comes was woken by nothing but
// the helper's StreamOpenTimeout (the job hung to its wall-time limit).
func TestJobChannel_FloodEndsHelperSession(t *testing.T) {
	t.Parallel()
	ch, sess := openHelperSide(t)
	// As the run file of TestChannelFlood: stdin streams of distinct calls,
	// each with data, kept open; past maxPendingCalls each is refused.
	for i := 0; i < maxPendingCalls+maxRefused+maxActiveStreams; i++ {
		st, err := sess.OpenStream()
		if err != nil {
			break // the channel is gone: what a flood gets
		}
		if err := channel.WriteHeader(st, channel.Header{Kind: channel.KindStdin, ID: fmt.Sprintf("flood%d", i)}); err != nil {
			break
		}
		_, _ = st.Write(make([]byte, 4096))
	}
	// The bound of the wait is a failure bound only: the session ends as
	// soon as the agent gave up.
	select {
	case <-sess.CloseChan():
	case <-time.After(20 * time.Second):
		t.Fatal("the helper's session is still open after the agent gave up on the channel")
	}
	// Given up past maxRefused refusals, or sooner: the refused streams
	// are kept open by their writer (drop, maxDropping).
	if ch.refused.Load() == 0 {
		t.Error("no stream refused")
	}
	if _, err := sess.OpenStream(); err == nil {
		t.Error("an open after the channel ended succeeded")
	}
}

// openHelperSide starts a job channel and returns the helper's side of
// its session.
func openHelperSide(t *testing.T) (*jobChannel, *yamux.Session) {
	t.Helper()
	r := newRuntime(&fakeAPI{events: blockEvents}, quiet())
	t.Cleanup(func() { r.Close() })
	a := &attempt{job: &containers.Job{Desc: &messages.JobDescription{}}, maxResult: 10}
	ch := newJobChannel(r, a, "grading", "")
	agentIn, helperOut := io.Pipe()
	helperIn, agentOut := io.Pipe()
	if err := ch.start(agentIn, halfPipe{agentOut}); err != nil {
		t.Fatal(err)
	}
	sess, err := yamux.Client(muxConn{helperIn, helperOut}, channel.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		helperIn.Close()
		sess.Close()
		ch.close()
	})
	return ch, sess
}

// TestJobChannel_DroppedStreamsAreDrained: what a process of the container
// writes on a stream the agent dropped (replaced by another of the same
// call, a bad header, a kind it does not serve) is read and thrown away.
// Before, the agent closed such a stream and yamux kept buffering what
// came, a window's worth (~0.5 MiB of heap) per stream, until the job
// ended: a writer of more than a window blocked for ever, and a thousand
// such streams held 500 MiB of the agent.
func TestJobChannel_DroppedStreamsAreDrained(t *testing.T) {
	t.Parallel()
	const size = 3 << 18 // three quarters of a MiB: past the 256 KiB window
	cases := []struct {
		name   string
		header string
		after  string // a second stream's header, if any
	}{
		{"replaced by the same call's", `{"kind":"stdin","id":"same"}`, `{"kind":"stdin","id":"same"}`},
		{"of no call told to open it", `{"kind":"stdin","id":"nobody"}`, ""},
		{"bad header", `not json`, ""},
		{"kind not served", `{"kind":"nosuch"}`, ""},
		{"ssh debug not asked for", `{"kind":"ssh_debug"}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ch, sess := openHelperSide(t)
			ch.mu.Lock()
			ch.expected["same"] = true // a call told EventReady
			ch.mu.Unlock()
			st, err := sess.OpenStream()
			if err != nil {
				t.Fatal(err)
			}
			wrote := make(chan error, 1)
			go func() {
				_, err := st.Write(append([]byte(tc.header+"\n"), make([]byte, size)...))
				wrote <- err
			}()
			if tc.after != "" {
				// The first is the call's before the second comes.
				for deadline := time.Now().Add(10 * time.Second); ; {
					ch.mu.Lock()
					n := len(ch.pending)
					ch.mu.Unlock()
					if n > 0 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatal("the first stream never reached the call")
					}
					time.Sleep(time.Millisecond)
				}
				st2, err := sess.OpenStream()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := st2.Write([]byte(tc.after + "\n")); err != nil {
					t.Fatal(err)
				}
			}
			// A failure bound only: the write ends once the agent read it.
			select {
			case err := <-wrote:
				// An error is the agent's close arriving first (RST or
				// FIN, no more room): it held nothing either way.
				_ = err
			case <-time.After(20 * time.Second):
				t.Fatalf("a write of %d bytes on a dropped stream never ended: the agent holds what came", size)
			}
			if sess.IsClosed() {
				t.Error("one dropped stream ended the channel")
			}
			st.Close() // the peer's close ends the drain
			for deadline := time.Now().Add(10 * time.Second); ch.dropping.Load() != 0; {
				if time.Now().After(deadline) {
					t.Fatalf("%d streams still drained after their peer closed them", ch.dropping.Load())
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestJobChannel_StreamsLeftOpenEndTheChannel: dropped streams the
// container never closes cost the agent a goroutine each; past
// maxDropping the channel is given up.
func TestJobChannel_StreamsLeftOpenEndTheChannel(t *testing.T) {
	t.Parallel()
	_, sess := openHelperSide(t)
	for i := 0; i <= maxDropping+1; i++ {
		st, err := sess.OpenStream()
		if err != nil {
			break // the channel is gone
		}
		if _, err := st.Write([]byte(`{"kind":"stdout","id":"same"}` + "\n")); err != nil {
			break
		}
	}
	select {
	case <-sess.CloseChan():
	case <-time.After(20 * time.Second):
		t.Fatalf("%d streams left open after the agent dropped them, and the channel is still open", maxDropping+1)
	}
}

// TestJobChannel_DropDrainsPastADeadline: a call's stdin stream has a read
// deadline in the past when the call ends (the relay is cut when the
// student stopped); dropping it still drains what the caller sends after.
// Before, the drain returned at once on the deadline and the stream held a
// window of data per finished call.
func TestJobChannel_DropDrainsPastADeadline(t *testing.T) {
	t.Parallel()
	ch, sess := openHelperSide(t)
	ch.mu.Lock()
	ch.expected["call"] = true
	ch.mu.Unlock()
	var helper [3]*yamux.Stream
	for i, kind := range []string{channel.KindStdin, channel.KindStdout, channel.KindStderr} {
		st, err := sess.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		if err := channel.WriteHeader(st, channel.Header{Kind: kind, ID: "call"}); err != nil {
			t.Fatal(err)
		}
		helper[i] = st
	}
	in, out, errs, err := ch.streams("call", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = in.SetReadDeadline(time.Now())
	for _, st := range []*yamux.Stream{in, out, errs} {
		ch.drop(st)
	}
	wrote := make(chan error, 1)
	go func() {
		_, err := helper[0].Write(make([]byte, 3<<18)) // past the window
		wrote <- err
	}()
	select {
	case <-wrote:
	case <-time.After(20 * time.Second): // a failure bound only
		t.Fatal("what the caller sent after its call ended is held, not drained")
	}
}

// TestJobChannel_ReadyOnlyWithASlot: the helper opens a call's io streams
// only once the agent says the call has a student slot (EventReady), so
// that calls waiting for one hold no stream the agent does not read.
func TestJobChannel_ReadyOnlyWithASlot(t *testing.T) {
	t.Parallel()
	ch, ctl := waitingCall(t)
	events := channel.NewLines[channel.Event](ctl)
	got := make(chan channel.Event, 1)
	go func() {
		ev, _ := events.Next()
		got <- ev
	}()
	select {
	case ev := <-got:
		t.Fatalf("while every slot is taken the call got %+v", ev)
	case <-time.After(200 * time.Millisecond):
	}
	<-ch.students // a slot frees
	select {
	case ev := <-got:
		if ev.Event != channel.EventReady {
			t.Fatalf("first event %+v, want %q", ev, channel.EventReady)
		}
	case <-time.After(20 * time.Second): // a failure bound only
		t.Fatal("no event once a slot freed")
	}
}

// TestJobChannel_CallerLeavesWhileWaiting: a caller that goes away while
// its call waits for a student slot ends the call at once. Before, the
// agent read nothing of the call's stream until its container started:
// the call held its place until a slot freed, then waited 10 s for io
// streams that would never come, holding the slot.
func TestJobChannel_CallerLeavesWhileWaiting(t *testing.T) {
	t.Parallel()
	ch, ctl := waitingCall(t)
	for deadline := time.Now().Add(10 * time.Second); ch.active.Load() != 1; {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams handled, want the call's", ch.active.Load())
		}
		time.Sleep(time.Millisecond)
	}
	ctl.Close() // the caller is gone
	for deadline := time.Now().Add(10 * time.Second); ch.active.Load() != 0; {
		if time.Now().After(deadline) { // a failure bound only
			t.Fatal("the call still waits for a slot after its caller left")
		}
		time.Sleep(time.Millisecond)
	}
}

// waitingCall opens a run_student call on a channel whose student slots
// are all taken, and returns the channel and the call's stream.
func waitingCall(t *testing.T) (*jobChannel, *yamux.Stream) {
	t.Helper()
	ch, sess := openHelperSide(t)
	for range maxStudents {
		ch.students <- struct{}{} // every slot taken
	}
	ctl, err := sess.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if err := channel.WriteHeader(ctl, channel.Header{Kind: channel.KindStudent, ID: "c", Student: &channel.StudentRequest{Argv: []string{"true"}}}); err != nil {
		t.Fatal(err)
	}
	return ch, ctl
}
