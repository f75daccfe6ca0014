package bridge

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/security/null"
)

// ZMTP 3.0 pieces (RFC 23), written by hand so that a test can send what
// no ZeroMQ library would.

// frameHeader announces a frame of size bytes (the long form when it needs
// it, or when flags already ask for it).
func frameHeader(flags byte, size uint64) []byte {
	if size > 255 || flags&flagLong != 0 {
		return binary.BigEndian.AppendUint64([]byte{flags | flagLong}, size)
	}
	return []byte{flags, byte(size)}
}

// frame is a frame with its body.
func frame(flags byte, body []byte) []byte {
	return append(frameHeader(flags, uint64(len(body))), body...)
}

// zmtpProp is one metadata property of a READY command.
func zmtpProp(name, value string) []byte {
	b := append([]byte{byte(len(name))}, name...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(value)))
	return append(b, value...)
}

// zmtpCommand is a command frame.
func zmtpCommand(name string, props ...[]byte) []byte {
	return frame(flagCommand, cat(append([][]byte{{byte(len(name))}, []byte(name)}, props...)...))
}

// zmtpReady is the READY command of a DEALER socket.
func zmtpReady() []byte {
	return zmtpCommand("READY", zmtpProp("Socket-Type", "DEALER"), zmtpProp("Identity", ""))
}

func curveGreeting() []byte {
	g := nullGreeting()
	copy(g[12:], "CURVE")
	return g
}

func cat(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}

// stream is what a peer sends, and the reason the bridge gives when it
// closes the connection ("" for none: the stream is fine so far).
type stream struct {
	name, reason string
	data         []byte
}

// validStreams are what ZeroMQ peers send.
func validStreams() []stream {
	return []stream{
		{"DEALER message", "", cat(nullGreeting(), zmtpReady(), frame(0, []byte("hello")))},
		{"REQ envelope", "", cat(nullGreeting(), zmtpCommand("READY", zmtpProp("socket-type", "REQ")),
			frame(flagMore, nil), frame(0, bytes.Repeat([]byte("x"), 300)))},
		{"ZMTP 3.1, ROUTER, identity, ping", "", cat(append(nullGreeting()[:11], 1), nullGreeting()[12:],
			zmtpCommand("READY", zmtpProp("Socket-Type", "ROUTER"), zmtpProp("Identity", "webapp-1")),
			zmtpCommand("PING", []byte{0, 10}), frame(flagLong, []byte("long form")))},
	}
}

// hostileStreams are what a peer may send instead of ZMTP; wire is the
// bridge's bound on a message's frames.
func hostileStreams(wire uint64) []stream {
	greetReady := cat(nullGreeting(), zmtpReady())
	half := make([]byte, wire/2+1)
	return []stream{
		// 73 bytes: zmq4 would make([]byte, 1<<62) in the handshake.
		{"2^62 frame in the handshake", "frame-too-large", cat(nullGreeting(), frameHeader(flagLong, 1<<62))},
		{"2^62 frame", "frame-too-large", cat(greetReady, frameHeader(flagLong, 1<<62))},
		{"2^63+1 frame", "frame-too-large", cat(greetReady, frameHeader(flagLong, 1<<63+1))},
		{"64 GiB frame", "frame-too-large", cat(greetReady, frameHeader(flagLong, 64<<30))},
		{"64 GiB frame after a small one", "frame-too-large", cat(greetReady, frame(flagMore, []byte("abc")), frameHeader(0, 64<<30))},
		{"huge command in the handshake", "frame-too-large", cat(nullGreeting(), frameHeader(flagCommand, 1<<40))},
		{"huge command", "frame-too-large", cat(greetReady, frameHeader(flagCommand, 1<<40))},
		{"frames over the message limit", "message-too-large", cat(greetReady, frame(flagMore, half), frameHeader(0, wire/2+1))},
		{"too many frames", "too-many-frames", cat(greetReady, bytes.Repeat(frameHeader(flagMore, 0), maxFrames+1))},
		// zmq4 indexes past the end of a property whose name runs over.
		{"READY property past its end", "bad-handshake", cat(nullGreeting(), zmtpCommand("READY", []byte{200, 'S'}))},
		{"READY value length past its end", "bad-handshake", cat(nullGreeting(), zmtpCommand("READY", []byte{1, 'S', 0, 0}))},
		// zmq4 panics on a socket type it does not know.
		{"unknown socket type", "bad-handshake", cat(nullGreeting(), zmtpCommand("READY", zmtpProp("Socket-Type", "NOPE")))},
		{"no socket type", "bad-handshake", cat(nullGreeting(), zmtpCommand("READY"))},
		{"incompatible socket type", "bad-handshake", cat(nullGreeting(), zmtpCommand("READY", zmtpProp("Socket-Type", "PUB")))},
		{"identity over 255 bytes", "bad-handshake", cat(nullGreeting(), zmtpCommand("READY",
			zmtpProp("Socket-Type", "DEALER"), zmtpProp("Identity", strings.Repeat("i", 256))))},
		{"not READY", "bad-handshake", cat(nullGreeting(), zmtpCommand("HELLO"))},
		{"READY in parts", "bad-handshake", cat(nullGreeting(), frame(flagCommand|flagMore, []byte("\x05READY")))},
		{"message before READY", "bad-handshake", cat(nullGreeting(), frame(0, []byte("hi")))},
		{"garbage greeting", "bad-greeting", []byte(strings.Repeat("GET / HTTP/1.1\r\n", 8))},
		{"ZMTP 2 greeting", "bad-greeting", append(nullGreeting()[:10], 1, 5)},
		{"CURVE greeting", "bad-greeting", curveGreeting()},
		{"server flag 2", "bad-greeting", append(nullGreeting()[:32], 2)},
		{"truncated greeting", "handshake-incomplete", nullGreeting()[:30]},
		{"truncated READY", "handshake-incomplete", cat(nullGreeting(), zmtpReady()[:10])},
		{"nothing", "handshake-incomplete", nil},
	}
}

var testLimits = zmtpLimits{message: 1 << 16, command: maxCommandBytes, frames: maxFrames}

// feedAll feeds data in chunks of chunk bytes.
func feedAll(s *zmtpStream, data []byte, chunk int) error {
	for len(data) > 0 {
		n := min(chunk, len(data))
		if err := s.feed(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// TestZMTPStream: the stream says the same of a peer's bytes in any
// chunks; "handshake-incomplete" is the transport's, when the peer stops.
func TestZMTPStream(t *testing.T) {
	for _, tc := range append(validStreams(), hostileStreams(testLimits.message)...) {
		for _, chunk := range []int{1, 7, 1 << 30} {
			err := feedAll(newZMTPStream(testLimits), tc.data, chunk)
			got := ""
			if err != nil {
				got = reasonOf(err)
			}
			if want := strings.TrimPrefix(tc.reason, "handshake-incomplete"); got != want {
				t.Errorf("%s in chunks of %d: %q (%v), want %q", tc.name, chunk, got, err, want)
			}
		}
	}
}

// pipeConn replays data to a reader, at most chunk bytes a read, and
// takes every write.
type pipeConn struct {
	net.Conn
	r     io.Reader
	chunk int
}

func (c *pipeConn) Read(p []byte) (int, error)        { return c.r.Read(p[:min(len(p), c.chunk)]) }
func (c *pipeConn) Write(p []byte) (int, error)       { return len(p), nil }
func (c *pipeConn) Close() error                      { return nil }
func (c *pipeConn) SetDeadline(time.Time) error       { return nil }
func (c *pipeConn) SetWriteDeadline(time.Time) error  { return nil }
func (c *pipeConn) RemoteAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1} }
func (c *pipeConn) LocalAddr() net.Addr               { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 2} }
func (c *pipeConn) SetReadDeadline(t time.Time) error { return nil }

// FuzzZMTPStream feeds a peer's bytes to the stream, whole and in chunks
// (the same verdict), then to zmq4 behind the bridge's connection: zmq4
// must neither panic nor hold a message over the limits, and must take
// every handshake the bridge lets through.
func FuzzZMTPStream(f *testing.F) {
	for _, tc := range append(validStreams(), hostileStreams(4096)...) {
		f.Add(tc.data, uint8(0))
		f.Add(tc.data, uint8(6))
	}
	f.Add(cat(nullGreeting(), zmtpCommand("READY", zmtpProp("Socket-Type", "DEALER"), zmtpProp("ıdentity", "webapp-1"))), uint8(0))
	g := newGuard(Options{MaxMessageBytes: 1024}, slog.New(slog.DiscardHandler))
	g.lim.message = 4096 // the envelope's room would dwarf the fuzzer's inputs
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		errWhole := feedAll(newZMTPStream(g.lim), data, len(data)+1)
		errParts := feedAll(newZMTPStream(g.lim), data, int(chunk)+1)
		if (errWhole == nil) != (errParts == nil) || errWhole != nil && reasonOf(errWhole) != reasonOf(errParts) {
			t.Fatalf("whole: %v; in chunks of %d: %v", errWhole, int(chunk)+1, errParts)
		}

		c := newGuardConn(&pipeConn{r: bytes.NewReader(data), chunk: int(chunk) + 1}, g, func(*guardConn) {})
		if c.handshake(time.Minute) != nil {
			return
		}
		zc, err := zmq4.Open(c, null.Security(), zmq4.Router, zmq4.SocketIdentity("fuzz"), true, nil)
		if err != nil {
			t.Fatalf("zmq4 refuses a handshake the bridge let through: %v", err)
		}
		if id := zc.Peer.Meta["Identity"]; id != "" {
			t.Fatalf("zmq4 took the peer's identity %q", id)
		}
		for {
			msg, err := zc.RecvMsg()
			if err != nil {
				return
			}
			total := 0
			for _, fr := range msg.Frames {
				total += len(fr)
			}
			if len(msg.Frames) > g.lim.frames || uint64(total) > g.lim.message {
				t.Fatalf("zmq4 read a message of %d frames, %d bytes", len(msg.Frames), total)
			}
		}
	})
}

// The bridge drops the identity a peer names in its READY (zmq4 then gives
// the connection its own) and keeps the rest, in either frame form.
func TestWithoutIdentity(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, tc := range []struct {
		name       string
		ready, out []byte
	}{
		{"none", zmtpCommand("READY", zmtpProp("Socket-Type", "DEALER")), zmtpCommand("READY", zmtpProp("Socket-Type", "DEALER"))},
		{"named", zmtpCommand("READY", zmtpProp("Socket-Type", "DEALER"), zmtpProp("Identity", "webapp-1")),
			zmtpCommand("READY", zmtpProp("Socket-Type", "DEALER"))},
		{"in any case, among others", zmtpCommand("READY", zmtpProp("identity", "a"), zmtpProp("Socket-Type", "DEALER"), zmtpProp("X-Other", "b")),
			zmtpCommand("READY", zmtpProp("Socket-Type", "DEALER"), zmtpProp("X-Other", "b"))},
		// zmq4 title-cases a dotless i into I; EqualFold would keep it.
		{"spelt as zmq4 reads it", zmtpCommand("READY", zmtpProp("Socket-Type", "DEALER"), zmtpProp("ıdentity", "webapp-1")),
			zmtpCommand("READY", zmtpProp("Socket-Type", "DEALER"))},
		{"twice", zmtpCommand("READY", zmtpProp("Identity", "a"), zmtpProp("Socket-Type", "DEALER"), zmtpProp("identity", "b")),
			zmtpCommand("READY", zmtpProp("Socket-Type", "DEALER"))},
		// Names zmq4 does not read as the identity stay.
		{"not the identity for zmq4", zmtpCommand("READY", zmtpProp("Socket-Type", "DEALER"), zmtpProp("İdentity", "b"), zmtpProp("IDENTITY", "c")),
			zmtpCommand("READY", zmtpProp("Socket-Type", "DEALER"), zmtpProp("İdentity", "b"), zmtpProp("IDENTITY", "c"))},
		{"a long frame made short", zmtpCommand("READY", zmtpProp("Socket-Type", "DEALER"), zmtpProp("Identity", long)),
			zmtpCommand("READY", zmtpProp("Socket-Type", "DEALER"))},
		{"long, kept long", zmtpCommand("READY", zmtpProp("Socket-Type", "DEALER"), zmtpProp("X-Other", long), zmtpProp("Identity", "i")),
			zmtpCommand("READY", zmtpProp("Socket-Type", "DEALER"), zmtpProp("X-Other", long))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			after := frame(0, []byte("the first message"))
			got, err := withoutIdentity(cat(nullGreeting(), tc.ready, after))
			if err != nil {
				t.Fatal(err)
			}
			if want := cat(nullGreeting(), tc.out, after); !bytes.Equal(got, want) {
				t.Fatalf("got\n% x\nwant\n% x", got, want)
			}
		})
	}
}
