package leader

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/natsconn"
)

// keyState is what the key holds, as stored, headers included.
type keyState int

const (
	// keyAbsent: no message (never written, or expired).
	keyAbsent keyState = iota
	// keyDeleted: a candidate's Release (or an operator's delete).
	keyDeleted
	// keyHeld: a candidate's id.
	keyHeld
	// keyForeign: what no candidate wrote. NATS stores on the key
	// whatever JetStream answer an identity asked for with the key's
	// subject as its reply: a JSON document, or a stored message with the
	// headers of a direct get, among them any the asker stored with it
	// (a "KV-Operation: DEL" that the key-value API would take for a
	// release). Any frontend can do this, so nothing foreign may end a
	// lease or let a standby in.
	keyForeign
)

// key is the key's last message as stored.
type key struct {
	state keyState
	rev   uint64    // its stream sequence: the key's revision
	stamp time.Time // when the server stored it
	id    string    // the holder, for keyHeld
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

// readKey reads the key's last message with the headers it was stored
// with: neither the key-value API (whose Get takes a reflected delete
// marker for a real one) nor a direct get (which adds headers of its own)
// shows them. The stream's leader answers, so a replica that lags cannot.
func (e *Elector) readKey(ctx context.Context) (key, error) {
	req, _ := json.Marshal(map[string]string{"last_by_subj": e.subject})
	msg, err := e.nc.RequestWithContext(ctx, e.msgGet, req)
	if err != nil {
		return key{}, err
	}
	var resp struct {
		Error *struct {
			Code    int    `json:"code"`
			ErrCode int    `json:"err_code"`
			Text    string `json:"description"`
		} `json:"error"`
		Message *struct {
			Seq    uint64    `json:"seq"`
			Header []byte    `json:"hdrs"`
			Data   []byte    `json:"data"`
			Time   time.Time `json:"time"`
		} `json:"message"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return key{}, fmt.Errorf("read the key: %w", err)
	}
	switch {
	case resp.Error != nil && resp.Error.Code == 404:
		return key{state: keyAbsent}, nil
	case resp.Error != nil:
		return key{}, fmt.Errorf("read the key: %s (%d)", resp.Error.Text, resp.Error.ErrCode)
	case resp.Message == nil:
		return key{}, errors.New("read the key: an empty answer")
	}
	m := resp.Message
	h, err := storedHeader(m.Header)
	if err != nil {
		return key{}, fmt.Errorf("read the key: %w", err)
	}
	k := key{rev: m.Seq, stamp: m.Time}
	switch {
	case natsconn.ForeignStored(h, m.Data):
		k.state = keyForeign
	case h.Get(kvOperation) == "DEL" || h.Get(kvOperation) == "PURGE":
		k.state = keyDeleted
	case candidateID(string(m.Data)):
		k.state, k.id = keyHeld, string(m.Data)
	default:
		k.state = keyForeign
	}
	return k, nil
}

// storedHeader parses a stored message's header block, empty when there
// is none.
func storedHeader(b []byte) (nats.Header, error) {
	if len(b) == 0 {
		return nats.Header{}, nil
	}
	return nats.DecodeHeadersMsg(b)
}

// kvOperation is the header of the key-value API's delete and purge
// markers.
const kvOperation = "KV-Operation"

// candidateID says whether v could be a candidate's id: printable, not a
// JSON document, of a sane length.
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
