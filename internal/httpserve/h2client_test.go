package httpserve

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// h2Client speaks just enough HTTP/2 to open streams that never take
// their answers: it counts the server's RST_STREAM frames and answers its
// SETTINGS.
type h2Client struct {
	c     net.Conn
	mu    sync.Mutex
	reset atomic.Int64
}

func newH2Client(t *testing.T, c net.Conn) *h2Client {
	h := &h2Client{c: c}
	h.write([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
	go func() {
		hdr := make([]byte, 9)
		for {
			if _, err := io.ReadFull(c, hdr); err != nil {
				return
			}
			n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
			if _, err := io.CopyN(io.Discard, c, int64(n)); err != nil {
				return
			}
			switch typ, flags := hdr[3], hdr[4]; {
			case typ == 0x3: // RST_STREAM
				h.reset.Add(1)
			case typ == 0x4 && flags&1 == 0: // SETTINGS, not an ack
				h.write(h2Frame(0x4, 1, 0, nil))
			}
		}
	}()
	return h
}

func (h *h2Client) resets() int64 { return h.reset.Load() }

func (h *h2Client) write(b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, _ = h.c.Write(b)
}

func h2Frame(typ, flags byte, stream uint32, payload []byte) []byte {
	b := make([]byte, 9, 9+len(payload))
	b[0], b[1], b[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
	b[3], b[4] = typ, flags
	binary.BigEndian.PutUint32(b[5:], stream)
	return append(b, payload...)
}

// h2Get is the header block of GET / (HPACK, literal strings, no Huffman).
func h2Get(authority string) []byte {
	lit := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	b := []byte{0x82, 0x87, 0x84} // :method GET, :scheme https, :path /
	b = append(b, 0x01)           // :authority, literal without indexing
	return append(b, lit(authority)...)
}
