package docker

import (
	"bytes"
	"fmt"
	"io"

	"github.com/ingo-grader/ingo/containers/channel"
	"github.com/ingo-grader/ingo/containers/helper/contract"
	"github.com/ingo-grader/ingo/messages"
)

// maxStderrBytes bounds the helper's stderr kept from the attach stream
// (for the logs only).
const maxStderrBytes = 64 << 10

// Sizes of the tmpfs mounts besides /task (see mounts).
const (
	minTmpBytes     = 16 << 20
	maxTmpBytes     = 256 << 20
	minArchiveBytes = 16 << 20
	ingoSlackBytes  = 1 << 20
	// inputRoomBytes is the least input.json /.ingo is sized for, so
	// that a warm container (made before its job's input is known) is the
	// container a cold start of a job with an input up to this size
	// gets; larger inputs start cold (see "Warm pool").
	inputRoomBytes = 256 << 10
)

// tmpfsMount is one tmpfs of a container.
type tmpfsMount struct {
	path  string
	size  int64
	mode  string
	owned bool // uid/gid 4242
	exec  bool
}

// mounts are the tmpfs mounts of a job's container, the only writable
// places of its read-only rootfs (maxResult is the attempt's):
//
//   - /task: Limits.Disk MiB (maxTaskBytes without one), the task folder
//     and what the run file writes there;
//   - /tmp: see tmpMount;
//   - /.ingo: input.json (at least inputRoomBytes) twice (the file, and the
//     uploads and __inputdata.json written out of it: the uploads' base64
//     becomes bytes, a path in __inputdata.json)
//     plus three results (feedback.json, its temporary file while a
//     command replaces it, one to spare; the result itself goes over the
//     channel) plus 1 MiB;
//   - /archive: maxResult, at least 16 MiB (the archive kept is at most
//     output bytes compressed).
func mounts(l messages.Limits, inputLen, maxResult int64) []tmpfsMount {
	disk := diskBytes(l)
	return []tmpfsMount{
		{path: contract.TaskDir, size: disk, mode: "0755", owned: true, exec: true},
		tmpMount(disk),
		{path: contract.IngoDir, size: 2*max(inputLen, inputRoomBytes) + 3*maxResult + ingoSlackBytes, mode: "0755", owned: true},
		{path: contract.ArchiveDir, size: max(maxResult, minArchiveBytes), mode: "0755", owned: true},
	}
}

// diskBytes is a job's /task size: Limits.Disk MiB, maxTaskBytes without.
func diskBytes(l messages.Limits) int64 {
	if l.Disk > 0 {
		return l.Disk << 20
	}
	return maxTaskBytes
}

// tmpMount is the /tmp of a job's containers: a quarter of its disk (disk
// bytes), at least 16 MiB (or disk when smaller), at most 256 MiB.
func tmpMount(disk int64) tmpfsMount {
	return tmpfsMount{path: "/tmp", size: min(max(disk/4, min(disk, minTmpBytes)), maxTmpBytes), mode: "1777", exec: true}
}

// tmpfs is HostConfig.Tmpfs for mounts, and the sum of their sizes.
func tmpfs(ms []tmpfsMount) (map[string]string, int64) {
	out := make(map[string]string, len(ms))
	var total int64
	for _, m := range ms {
		// Sizes in KiB, rounded up (the kernel rounds to pages anyway).
		o := fmt.Sprintf("rw,nosuid,nodev,size=%dk,mode=%s", (m.size+1023)>>10, m.mode)
		if m.exec {
			o += ",exec"
		} else {
			o += ",noexec"
		}
		if m.owned {
			o += fmt.Sprintf(",uid=%d,gid=%d", workerID, workerID)
		}
		out[m.path] = o
		total += m.size
	}
	return out, total
}

// muxReader is a container's stdout as the attach stream gives it: it
// looks for the channel's marker line (channel.Marker) and from there on
// passes every byte to muxIn, the input of the agent's side of the
// session; what comes before the marker is dropped. It is an io.Writer
// fed by stdcopy.
type muxReader struct {
	line []byte // the current line, while at most maxLine long
	skip bool   // the current line is too long to be the marker
	mux  bool   // the marker was seen

	muxIn      *io.PipeReader
	muxOut     *io.PipeWriter
	muxStarted chan struct{} // closed once the marker was seen
}

const maxLine = 64

func newMuxReader() *muxReader {
	r, w := io.Pipe()
	return &muxReader{muxIn: r, muxOut: w, muxStarted: make(chan struct{})}
}

func (m *muxReader) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if m.mux {
			// Errors are the session's end; stdout is still drained so
			// that stderr goes on.
			_, _ = m.muxOut.Write(p)
			return n, nil
		}
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if !m.skip {
			if len(m.line)+len(chunk) > maxLine {
				m.skip, m.line = true, m.line[:0]
			} else {
				m.line = append(m.line, chunk...)
			}
		}
		if i < 0 {
			return n, nil
		}
		p = p[i+1:]
		if !m.skip && string(m.line) == channel.Marker {
			m.mux = true
			close(m.muxStarted)
		}
		m.line, m.skip = m.line[:0], false
	}
	return n, nil
}

// closeMux ends the session's input (the attach stream ended with err).
func (m *muxReader) closeMux(err error) {
	_ = m.muxOut.CloseWithError(err)
}

// boundedBuffer keeps the first max bytes written to it.
type boundedBuffer struct {
	max int
	buf bytes.Buffer
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
