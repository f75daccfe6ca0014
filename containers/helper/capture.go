package helper

import "bytes"

// headBuffer keeps the first max bytes written to it and counts the rest,
// so a run file printing gigabytes costs no memory and is never blocked
// (it keeps reading, so the writer never stalls on a full pipe).
type headBuffer struct {
	max   int64
	buf   bytes.Buffer
	total int64
}

func (h *headBuffer) Write(p []byte) (int, error) {
	h.total += int64(len(p))
	if room := h.max - int64(h.buf.Len()); room > 0 {
		h.buf.Write(p[:min(int64(len(p)), room)])
	}
	return len(p), nil
}

// cut tells whether bytes were dropped.
func (h *headBuffer) cut() bool { return h.total > int64(h.buf.Len()) }
