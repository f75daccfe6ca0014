package sshserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const stoppedMarker = "[ingo: recording stopped: over its limit]\n"

// recorder holds the one budget that all transcripts share: a student
// printing in a loop must not fill the disk the grading results live on.
type recorder struct {
	dir   string // session-N.log each
	file  string // or all in this one, appended
	limit int64

	mu      sync.Mutex
	used    int64
	stopped bool
}

// transcript is one session's file. Its Write never fails: losing the
// recording must not disturb the session.
type transcript struct {
	rec  *recorder
	f    *os.File
	last byte // last byte written, to start the marker on its own line
}

func (r *recorder) open(n int64, command string) (*transcript, error) {
	name, flags := filepath.Join(r.dir, "session-"+strconv.FormatInt(n, 10)+".log"), os.O_TRUNC
	if r.file != "" {
		// The file may be in a folder of the user's: not through a
		// link they put there, and not a pipe, whose open would wait
		// for a reader (and writes for its reading).
		name, flags = r.file, os.O_APPEND|syscall.O_NOFOLLOW|syscall.O_NONBLOCK
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|flags, 0o644)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	if strings.ContainsAny(command, "\r\n") {
		command = strconv.Quote(command) // keep the header one line
	}
	t := &transcript{rec: r, f: f}
	fmt.Fprintf(t, "# ssh session %d started %s; command: %s\n", n, time.Now().Format(time.RFC3339), command)
	return t, nil
}

func (t *transcript) Write(p []byte) (int, error) {
	r := t.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return len(p), nil
	}
	q := p
	if room := r.limit - r.used; int64(len(q)) > room {
		q = q[:max(room, 0)]
		r.stopped = true
	}
	if len(q) > 0 {
		t.f.Write(q)
		r.used += int64(len(q))
		t.last = q[len(q)-1]
	}
	if r.stopped {
		if t.last != '\n' && t.last != 0 {
			t.f.Write([]byte{'\n'})
		}
		t.f.Write([]byte(stoppedMarker))
	}
	return len(p), nil
}

func (t *transcript) close(n int64, code int) {
	sep := ""
	if t.last != '\n' {
		sep = "\n" // the output's last line had no end
	}
	fmt.Fprintf(t, "%s# ssh session %d ended %s, exit %d\n", sep, n, time.Now().Format(time.RFC3339), code)
	t.f.Close()
}
