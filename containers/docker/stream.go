package docker

import (
	"bytes"
	"fmt"
	"io"
	"strconv"

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
// places of its read-only rootfs:
//
//   - /task: Limits.Disk MiB (maxTaskBytes without one), the task folder
//     and what the run file writes there;
//   - /tmp: a quarter of that, at least 16 MiB (or the disk bound when
//     smaller) and at most 256 MiB;
//   - /.ingo: input.json twice (the file and the uploads written out of it)
//     plus three results (feedback.json, result.json and its temporary
//     file) plus 1 MiB;
//   - /archive: MaxResultBytes(output), at least 16 MiB (the archive kept
//     is at most output bytes compressed).
func mounts(l messages.Limits, inputLen int64) []tmpfsMount {
	disk := int64(maxTaskBytes)
	if l.Disk > 0 {
		disk = l.Disk << 20
	}
	tmp := min(max(disk/4, min(disk, minTmpBytes)), maxTmpBytes)
	res := contract.MaxResultBytes(l.Output)
	return []tmpfsMount{
		{path: contract.TaskDir, size: disk, mode: "0755", owned: true, exec: true},
		{path: "/tmp", size: tmp, mode: "1777", exec: true},
		{path: contract.IngoDir, size: 2*inputLen + 3*res + ingoSlackBytes, mode: "0755", owned: true},
		{path: contract.ArchiveDir, size: max(res, minArchiveBytes), mode: "0755", owned: true},
	}
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

// frameReader finds the helper's framed result ("\nINGO-RESULT <n>\n" then
// n bytes) in its stdout, whatever else was printed there, keeping at most
// max bytes of result. The last complete frame wins. It is an io.Writer fed
// by stdcopy.
type frameReader struct {
	max int64

	line    []byte // the current line, while at most maxLine long
	skip    bool   // the current line is too long to be a frame line
	want    int64  // bytes of body still to come; -1: reading lines
	body    bytes.Buffer
	over    bool // the body in progress is over max
	result  []byte
	tooBig  bool // the last complete frame was over max
	gotSome bool // a complete frame was seen

	// After the channel's marker line, everything goes to muxOut, read
	// from muxIn by the agent's side of the session; muxStarted is closed
	// then.
	mux        bool
	muxIn      *io.PipeReader
	muxOut     *io.PipeWriter
	muxStarted chan struct{}
}

const maxLine = 64

func newFrameReader(max int64) *frameReader {
	r, w := io.Pipe()
	return &frameReader{max: max, want: -1, muxIn: r, muxOut: w, muxStarted: make(chan struct{})}
}

func (f *frameReader) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if f.mux {
			// Errors are the session's end; stdout is still drained so
			// that stderr goes on.
			_, _ = f.muxOut.Write(p)
			return n, nil
		}
		if f.want >= 0 {
			k := int64(len(p))
			if k > f.want {
				k = f.want
			}
			if !f.over {
				f.body.Write(p[:k])
			}
			f.want -= k
			p = p[k:]
			if f.want == 0 {
				f.gotSome = true
				f.tooBig = f.over
				f.result = nil
				if !f.over {
					f.result = bytes.Clone(f.body.Bytes())
				}
				f.body.Reset()
				f.want = -1
			}
			continue
		}
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if !f.skip {
			if len(f.line)+len(chunk) > maxLine {
				f.skip, f.line = true, f.line[:0]
			} else {
				f.line = append(f.line, chunk...)
			}
		}
		if i < 0 {
			return n, nil
		}
		p = p[i+1:]
		if !f.skip {
			f.startFrame(f.line)
		}
		f.line, f.skip = f.line[:0], false
	}
	return n, nil
}

// closeMux ends the session's input (the attach stream ended with err).
func (f *frameReader) closeMux(err error) {
	_ = f.muxOut.CloseWithError(err)
}

// startFrame starts reading a body when line is a frame line, or the
// channel when it is the marker.
func (f *frameReader) startFrame(line []byte) {
	if string(line) == channel.Marker {
		f.mux = true
		close(f.muxStarted)
		return
	}
	rest, ok := bytes.CutPrefix(line, []byte(contract.ResultFrame+" "))
	if !ok {
		return
	}
	size, err := strconv.ParseInt(string(rest), 10, 64)
	if err != nil || size < 0 {
		return
	}
	f.over = size > f.max
	f.want = size
	if size == 0 {
		f.gotSome, f.tooBig, f.result, f.want = true, false, []byte{}, -1
	}
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
