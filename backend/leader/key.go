package leader

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/natsconn"
)

// keyState is what the key holds, as stored, headers included.
type keyState int

const (
	// keyAbsent: no message (never written, or expired).
	keyAbsent keyState = iota
	// keyDeleted: a candidate's Release.
	keyDeleted
	// keyHeld: a candidate's id.
	keyHeld
	// keyForeign: what no candidate wrote (see doc.go): it may hide a live
	// holder's renewal, so it counts as held until it expires, and a
	// holder writes over it.
	keyForeign
)

// key is the key's last message as stored.
type key struct {
	state keyState
	rev   uint64    // its stream sequence: the key's revision
	stamp time.Time // when the server stored it
	id    string    // the holder, for keyHeld
	mark  string    // the writer's mark, for keyHeld and keyDeleted
}

// holder is the id Holder and Silence name.
func (k key) holder() string {
	switch k.state {
	case keyHeld:
		return k.id
	case keyForeign:
		return UnknownHolder
	}
	return ""
}

// The headers of a candidate's write: its mark, the key-value API's
// operation of a release, and the compare-and-set the server keeps.
const (
	markHeader  = "Ingo-Lease"
	kvOperation = "KV-Operation"
	expectedSeq = "Nats-Expected-Last-Subject-Sequence"
)

// newMark is what a candidate writes beside its id: the id and a random
// token, so that the holder tells its own renewals (whose answer was lost)
// from another process's of the same id.
func newMark(id string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return id + " " + hex.EncodeToString(b[:])
}

// errMismatch: the key's revision is not the one a write expected.
var errMismatch = errors.New("leader: the key's revision changed")

// put writes this candidate's mark on the key, its id (or, with op
// "DEL", a release), if the key's last revision is rev (0: none).
func (e *Elector) put(ctx context.Context, rev uint64, op string) (uint64, error) {
	m := nats.NewMsg(e.subject)
	m.Header.Set(markHeader, e.mark)
	if op != "" {
		m.Header.Set(kvOperation, op)
	} else {
		m.Data = []byte(e.opts.ID)
	}
	ack, err := e.js.PublishMsg(ctx, m, jetstream.WithExpectLastSequencePerSubject(rev))
	var api *jetstream.APIError
	if errors.As(err, &api) && (api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return 0, fmt.Errorf("%w: %w", errMismatch, err)
	}
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// readKey reads the key's last message as it was stored, through
// STREAM.MSG.GET: its answer gives the header block as raw bytes, and
// the subject and sequence as fields of its own, none of which a stored
// message can shape (a direct get's answer appends the server's headers
// to those stored, where a header block with a blank line inside hides
// them). The stream's leader answers, so a replica that lags cannot.
func (e *Elector) readKey(ctx context.Context) (key, error) {
	m, err := natsconn.GetStored(ctx, e.js.Conn(), e.stream, map[string]any{"last_by_subj": e.subject})
	if errors.Is(err, natsconn.ErrNoMessage) {
		return key{state: keyAbsent}, nil
	}
	if err != nil {
		return key{}, fmt.Errorf("read the key: %w", err)
	}
	k := key{state: keyForeign, rev: m.Seq, stamp: m.Time}
	h, ok := candidateHeader(m.Header)
	if !ok {
		return k, nil
	}
	k.mark = h[markHeader]
	id, _, _ := strings.Cut(k.mark, " ")
	switch op := h[kvOperation]; {
	case op == "DEL" && len(m.Data) == 0:
		k.state = keyDeleted
	case op == "" && string(m.Data) == id && candidateID(id):
		k.state, k.id = keyHeld, id
	}
	return k, nil
}

// candidateHeader parses a stored header block as a candidate writes it,
// and nothing else: the version line without a status, "Key: value"
// lines of the three keys a candidate writes, each once, a mark among
// them, and one blank line, the last. Whatever the server stored on
// somebody's behalf fails: a direct get's answer carries the server's
// Nats-Stream and others (hidden or not), or no header at all (no_hdr);
// an acknowledgement has none; a status has a status.
func candidateHeader(raw []byte) (map[string]string, bool) {
	body, ok := bytes.CutPrefix(raw, []byte("NATS/1.0\r\n"))
	if !ok || !bytes.HasSuffix(body, []byte("\r\n\r\n")) {
		return nil, false
	}
	lines := strings.Split(string(body[:len(body)-4]), "\r\n")
	h := make(map[string]string, len(lines))
	for _, l := range lines {
		k, v, ok := strings.Cut(l, ": ")
		if !ok || (k != markHeader && k != kvOperation && k != expectedSeq) {
			return nil, false
		}
		if _, dup := h[k]; dup {
			return nil, false
		}
		h[k] = v
	}
	return h, h[markHeader] != ""
}

// candidateID says whether v could be a candidate's id: printable, not a
// JSON document, of a sane length. New refuses any other.
func candidateID(v string) bool {
	if v == "" || len(v) > 1024 || v[0] == '{' {
		return false
	}
	for _, r := range v {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}
