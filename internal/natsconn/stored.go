package natsconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// StoredMsg is a stream's message as STREAM.MSG.GET gives it: its subject
// and sequence are the server's fields, and its header block the bytes it
// was stored with. A direct get's answer carries none of this faithfully:
// the server appends its own headers to those stored, which a block with
// a blank line inside hides from nats.go, and the asker may ask for no
// headers at all. What a stream holds may be anybody's (see Foreign), so
// the readers that must tell apart what they wrote use this.
type StoredMsg struct {
	Subject string    `json:"subject"`
	Seq     uint64    `json:"seq"`
	Header  []byte    `json:"hdrs"`
	Data    []byte    `json:"data"`
	Time    time.Time `json:"time"`
}

// ErrNoMessage: the stream has no message that answers the request.
var ErrNoMessage = errors.New("no such message in the stream")

// ErrNoStream: the stream does not exist.
var ErrNoStream = errors.New("no such stream")

// JetStream's error codes of "no message found" and "stream not found".
const (
	errCodeNoMessage = 10037
	errCodeNoStream  = 10059
)

// GetStored asks stream's leader for one message: req is the body of
// STREAM.MSG.GET ({"seq": N}, {"last_by_subj": S}, {"seq": N,
// "next_by_subj": S}). The error wraps ErrNoMessage or ErrNoStream.
func GetStored(ctx context.Context, nc *nats.Conn, stream string, req map[string]any) (*StoredMsg, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	reply, err := nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+stream, body)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Error *struct {
			Code    int    `json:"code"`
			ErrCode int    `json:"err_code"`
			Text    string `json:"description"`
		} `json:"error"`
		Message *StoredMsg `json:"message"`
	}
	if err := json.Unmarshal(reply.Data, &resp); err != nil {
		return nil, fmt.Errorf("stream %s: an answer that is not JSON: %w", stream, err)
	}
	switch {
	case resp.Error != nil && resp.Error.ErrCode == errCodeNoMessage:
		return nil, ErrNoMessage
	case resp.Error != nil && resp.Error.ErrCode == errCodeNoStream:
		return nil, fmt.Errorf("%w: %s", ErrNoStream, stream)
	case resp.Error != nil:
		return nil, fmt.Errorf("stream %s: %s (%d)", stream, resp.Error.Text, resp.Error.ErrCode)
	case resp.Message == nil:
		return nil, fmt.Errorf("stream %s: an empty answer", stream)
	}
	return resp.Message, nil
}
