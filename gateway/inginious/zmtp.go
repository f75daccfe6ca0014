package bridge

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/go-zeromq/zmq4"
)

// ZMTP 3.x framing (RFC 23), as far as the bridge must read it to keep
// zmq4 v0.17.0 from allocating, or panicking on, what a peer announces:
// zmq4 makes a buffer of whatever size a frame header says, indexes past
// the end of a malformed READY property, and panics on a socket type it
// does not know. zmtpStream reads the bytes before zmq4 does and says
// what zmq4 must not see.

const (
	flagMore    = 0x01
	flagLong    = 0x02 // an 8-byte size follows the flags, not 1 byte
	flagCommand = 0x04

	greetingLen = 64
	// envelopeBytes is room, in a message's frames, for what comes with an
	// INGInious message: a REQ-style empty delimiter frame, say.
	envelopeBytes = 64 << 10
	// maxCommandBytes bounds a command frame: READY holds a socket type,
	// an identity of up to 255 bytes and rarely more; PING a 16-byte
	// context.
	maxCommandBytes = 64 << 10
	// maxFrames bounds the frames of a message: INGInious' DEALER sends
	// one, a REQ two.
	maxFrames = 16
	// maxIdentity is ZMTP's bound on a routing identity; the bridge keys
	// its webapps by it.
	maxIdentity = 255
)

// Why the bridge closes a connection; reasonOf names them for logs and
// Stats.
var (
	errFrameTooLarge   = errors.New("frame larger than the limit")
	errMessageTooLarge = errors.New("message larger than the limit")
	errTooManyFrames   = errors.New("message of too many frames")
	errBadGreeting     = errors.New("not a ZMTP 3 NULL greeting")
	errBadHandshake    = errors.New("not a READY command of a socket that talks to a ROUTER")
)

// nullGreeting is the greeting zmq4 sends: ZMTP 3.0, NULL mechanism, the
// server flag left at 0.
func nullGreeting() []byte {
	g := make([]byte, greetingLen)
	g[0], g[9], g[10], g[11] = 0xff, 0x7f, 3, 0
	copy(g[12:32], zmq4.NullSecurity)
	return g
}

// zmtpLimits bound what a peer may announce.
type zmtpLimits struct {
	message uint64 // bytes of all the frames of one message
	command uint64 // bytes of one command frame, READY included
	frames  int    // frames of one message
}

const (
	stGreeting = iota
	stFlags
	stSize
	stBody
)

// zmtpStream follows the bytes a peer sends, in any chunks.
type zmtpStream struct {
	lim   zmtpLimits
	state int
	buf   []byte // the greeting, a frame size or the READY command so far
	flags byte
	left  uint64 // bytes of the current frame's body still to come
	// ready: the peer's READY was read and checked; the handshake is over.
	ready bool
	// msgBytes and frames are of the message read so far.
	msgBytes uint64
	frames   int
}

func newZMTPStream(lim zmtpLimits) *zmtpStream { return &zmtpStream{lim: lim} }

// feed reads the next bytes of the stream; an error says why zmq4 must
// not read them.
func (s *zmtpStream) feed(b []byte) error {
	for len(b) > 0 {
		switch s.state {
		case stGreeting:
			b = s.fill(b, greetingLen)
			// At its first wrong byte: a ZMTP 2 peer, say, waits for an
			// answer before it sends the rest.
			if err := checkGreeting(s.buf); err != nil {
				return err
			}
			if len(s.buf) == greetingLen {
				s.buf, s.state = s.buf[:0], stFlags
			}
		case stFlags:
			s.flags, b, s.state = b[0], b[1:], stSize
		case stSize:
			n := 1
			if s.flags&flagLong != 0 {
				n = 8
			}
			b = s.fill(b, n)
			if len(s.buf) < n {
				continue
			}
			size := uint64(s.buf[0])
			if n == 8 {
				size = binary.BigEndian.Uint64(s.buf)
			}
			s.buf = s.buf[:0]
			if err := s.header(size); err != nil {
				return err
			}
		case stBody:
			n := uint64(len(b))
			if n > s.left {
				n = s.left
			}
			if !s.ready {
				s.buf = append(s.buf, b[:n]...)
			}
			b, s.left = b[n:], s.left-n
			if s.left == 0 {
				if err := s.endFrame(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// fill moves bytes of b to s.buf until it holds n; it returns the rest.
func (s *zmtpStream) fill(b []byte, n int) []byte {
	k := min(n-len(s.buf), len(b))
	s.buf = append(s.buf, b[:k]...)
	return b[k:]
}

// header checks a frame's announced size, before zmq4 allocates it.
func (s *zmtpStream) header(size uint64) error {
	cmd := s.flags&flagCommand != 0
	limit := s.lim.message
	if cmd || !s.ready {
		limit = min(limit, s.lim.command)
	}
	if size > limit {
		return fmt.Errorf("%w: %d bytes announced, %d allowed", errFrameTooLarge, size, limit)
	}
	if !s.ready && (!cmd || s.flags&flagMore != 0) {
		return fmt.Errorf("%w: a frame of flags %#x before READY", errBadHandshake, s.flags)
	}
	// zmq4 holds every frame of a message until the last one.
	if s.frames++; s.frames > s.lim.frames {
		return fmt.Errorf("%w: more than %d", errTooManyFrames, s.lim.frames)
	}
	if size > s.lim.message-s.msgBytes {
		return fmt.Errorf("%w: over %d bytes", errMessageTooLarge, s.lim.message)
	}
	s.msgBytes += size
	s.left, s.state = size, stBody
	if size == 0 {
		return s.endFrame()
	}
	return nil
}

func (s *zmtpStream) endFrame() error {
	s.state = stFlags
	if !s.ready {
		if err := checkReady(s.buf); err != nil {
			return err
		}
		s.buf, s.ready = nil, true
	}
	if s.flags&flagMore == 0 {
		s.msgBytes, s.frames = 0, 0
	}
	return nil
}

// checkGreeting accepts the start of a greeting that zmq4's greeting
// check and NULL mechanism accept: the signature, version 3.0 or later,
// NULL, a server flag of 0 or 1.
func checkGreeting(g []byte) error {
	n := len(g)
	switch {
	case n > 0 && g[0] != 0xff, n > 9 && g[9] != 0x7f:
		return fmt.Errorf("%w: signature % x", errBadGreeting, g[:min(n, 10)])
	case n > 10 && g[10] < 3:
		return fmt.Errorf("%w: version %d", errBadGreeting, g[10])
	case !bytes.HasPrefix(nullMechanism, g[min(n, 12):min(n, 12+len(nullMechanism))]):
		return fmt.Errorf("%w: mechanism %q", errBadGreeting, g[12:min(n, 32)])
	case n > 32 && g[32] > 1:
		return fmt.Errorf("%w: server flag %d", errBadGreeting, g[32])
	}
	return nil
}

// nullMechanism starts the greeting's mechanism field: zmq4 reads the
// name up to its first NUL, and ignores what follows.
var nullMechanism = []byte(string(zmq4.NullSecurity) + "\x00")

// socketTypes are those zmq4 knows; IsCompatible panics on any other.
var socketTypes = []zmq4.SocketType{zmq4.Pair, zmq4.Pub, zmq4.Sub, zmq4.Req, zmq4.Rep,
	zmq4.Dealer, zmq4.Router, zmq4.Pull, zmq4.Push, zmq4.XPub, zmq4.XSub}

// checkReady accepts a READY command body (name, then properties) that
// zmq4's NULL handshake reads without panicking and that a ROUTER takes.
func checkReady(body []byte) error {
	if len(body) == 0 || int(body[0]) > len(body)-1 || string(body[1:1+body[0]]) != zmq4.CmdReady {
		return fmt.Errorf("%w: another command", errBadHandshake)
	}
	props := body[1+body[0]:]
	for i := 0; i < len(props); {
		klen := int(props[i])
		i += 1 + klen
		if i+4 > len(props) {
			return fmt.Errorf("%w: a property runs past the command", errBadHandshake)
		}
		vlen := binary.BigEndian.Uint32(props[i:])
		i += 4
		if uint64(vlen) > uint64(len(props)-i) {
			return fmt.Errorf("%w: a property value runs past the command", errBadHandshake)
		}
		i += int(vlen)
	}
	// zmq4's own reading of the properties (their names in its case) is
	// what it then looks the socket type and identity up in.
	md := zmq4.Metadata{}
	if err := md.UnmarshalZMTP(props); err != nil {
		return fmt.Errorf("%w: %w", errBadHandshake, err)
	}
	typ := zmq4.SocketType(md["Socket-Type"])
	known := false
	for _, t := range socketTypes {
		known = known || t == typ
	}
	if !known || !typ.IsCompatible(zmq4.Router) {
		return fmt.Errorf("%w: socket type %q", errBadHandshake, typ)
	}
	if len(md["Identity"]) > maxIdentity {
		return fmt.Errorf("%w: identity of %d bytes", errBadHandshake, len(md["Identity"]))
	}
	return nil
}

// withoutIdentity is the greeting and READY a peer sent (and whatever
// followed them), its READY without an Identity property. zmq4's ROUTER
// routes a reply to every connection of the reply's identity, and takes a
// peer's own when it names one: a second connection naming a webapp's
// identity (the bridge logs them) got a copy of every message to that
// webapp, and spoke in its name. Without one, zmq4 gives each connection a
// random identity of its own. INGInious' client names none.
func withoutIdentity(pre []byte) ([]byte, error) {
	if len(pre) < greetingLen+2 {
		return nil, fmt.Errorf("%w: no READY after the greeting", errBadHandshake)
	}
	flags, start := pre[greetingLen], greetingLen+2
	size := uint64(pre[greetingLen+1])
	if flags&flagLong != 0 {
		if len(pre) < greetingLen+9 {
			return nil, fmt.Errorf("%w: a READY cut short", errBadHandshake)
		}
		size, start = binary.BigEndian.Uint64(pre[greetingLen+1:]), greetingLen+9
	}
	if flags&flagCommand == 0 || size > uint64(len(pre)-start) {
		return nil, fmt.Errorf("%w: a READY cut short", errBadHandshake)
	}
	end := start + int(size)
	body := pre[start:end]
	// checkReady has read these bounds already.
	nameEnd := 1 + int(body[0])
	kept := append([]byte(nil), body[:nameEnd]...)
	props := body[nameEnd:]
	for i := 0; i < len(props); {
		klen := int(props[i])
		vlen := int(binary.BigEndian.Uint32(props[i+1+klen:]))
		next := i + 1 + klen + 4 + vlen
		// Which name is the identity is zmq4's to say: it title-cases
		// names its own way ("ıdentity" is one for it, and for no
		// EqualFold).
		md := zmq4.Metadata{}
		if err := md.UnmarshalZMTP(props[i:next]); err != nil {
			return nil, fmt.Errorf("%w: %w", errBadHandshake, err)
		}
		if _, named := md["Identity"]; !named {
			kept = append(kept, props[i:next]...)
		}
		i = next
	}
	// And the same reading of what is left names none.
	if md := (zmq4.Metadata{}); md.UnmarshalZMTP(kept[nameEnd:]) != nil || md["Identity"] != "" {
		return nil, fmt.Errorf("%w: an identity that cannot be dropped", errBadHandshake)
	}
	out := append([]byte(nil), pre[:greetingLen]...)
	if len(kept) <= 0xff {
		out = append(out, flagCommand, byte(len(kept)))
	} else {
		out = append(out, flagCommand|flagLong)
		out = binary.BigEndian.AppendUint64(out, uint64(len(kept)))
	}
	out = append(out, kept...)
	return append(out, pre[end:]...), nil
}
