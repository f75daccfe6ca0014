package bundle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/messages"
)

// Get downloads and verifies the bundle of digest that owner uploaded: an
// agent's call (a frontend may not read bundles back). meta is the stream
// sequence of the metadata owner wrote (JobDescription.TaskBundleMeta), or
// 0 to take the newest usable metadata of the bundle. The error wraps
// ErrNotFound when owner has no such bundle, ErrDigestMismatch when what
// is stored is not that bundle (damaged, or not what its metadata says),
// ErrInvalidDigest, ErrTooLarge or ErrNoStore.
//
// The stream's leader answers (STREAM.MSG.GET), but a leader just elected
// may lag behind the upload a frontend just made: a bundle or a chunk not
// found is asked for again, three times within about a second.
func (s *Store) Get(ctx context.Context, owner, digest string, meta uint64) (*Bundle, error) {
	if err := ValidateDigest(digest); err != nil {
		return nil, err
	}
	if err := messages.ValidateID(owner); err != nil {
		return nil, fmt.Errorf("fetch bundle %s: client %w", digest, err)
	}
	for wait := 100 * time.Millisecond; ; wait *= 2 {
		b, err := s.get(ctx, owner, digest, meta)
		if err == nil || wait > 400*time.Millisecond || !(errors.Is(err, ErrNotFound) || errors.Is(err, errChunkMissing)) {
			return b, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
	}
}

func (s *Store) get(ctx context.Context, owner, digest string, seq uint64) (*Bundle, error) {
	m, err := s.metaAt(ctx, owner, digest, seq)
	if err != nil {
		return nil, fmt.Errorf("fetch bundle %s of %s: %w", digest, owner, err)
	}
	want := s.subject(owner, digest, "data")
	data := make([]byte, 0, m.Size)
	for _, seq := range m.Chunks {
		msg, err := s.msgGet(ctx, map[string]any{"seq": seq})
		if err != nil {
			if errors.Is(err, ErrNotFound) { // named by the metadata: not here yet, or gone
				err = fmt.Errorf("%w: %d", errChunkMissing, seq)
			}
			return nil, fmt.Errorf("fetch bundle %s of %s: %w", digest, owner, err)
		}
		// A sequence in somebody else's space, or another bundle's, would
		// hand this owner bytes it never uploaded.
		if msg.Subject != want || msg.Seq != seq {
			return nil, fmt.Errorf("%w: bundle %s of %s names message %d of %q", ErrDigestMismatch, digest, owner, seq, msg.Subject)
		}
		if int64(len(data)+len(msg.Data)) > m.Size {
			return nil, fmt.Errorf("%w: bundle %s of %s has more bytes than its %d", ErrDigestMismatch, digest, owner, m.Size)
		}
		data = append(data, msg.Data...)
	}
	if int64(len(data)) != m.Size {
		return nil, fmt.Errorf("%w: bundle %s of %s has %d bytes of its %d", ErrDigestMismatch, digest, owner, len(data), m.Size)
	}
	b, err := FromBytes(digest, data)
	if err != nil {
		return nil, fmt.Errorf("bundle %s of %s: %w", digest, owner, err)
	}
	return b, nil
}

// metaAt is the metadata owner wrote for digest at sequence seq, when it is
// there and usable; else (it expired, and a later upload is newer; or seq
// is 0) it is meta's.
func (s *Store) metaAt(ctx context.Context, owner, digest string, seq uint64) (meta, error) {
	if seq > 0 {
		msg, err := s.msgGet(ctx, map[string]any{"seq": seq})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return meta{}, err
		}
		if err == nil && msg.Subject == s.subject(owner, digest, "meta") {
			if m, err := parseMeta(msg.Header, msg.Data, digest); err == nil {
				return m, nil
			}
		}
	}
	return s.meta(ctx, owner, digest)
}

// meta is owner's metadata of digest: the last on its subject, or, when
// that one is unusable (see the package's Trust), the newest usable one
// among the first maxMetaWalk.
func (s *Store) meta(ctx context.Context, owner, digest string) (meta, error) {
	subject := s.subject(owner, digest, "meta")
	last, err := s.msgGet(ctx, map[string]any{"last_by_subj": subject})
	if err != nil {
		return meta{}, err
	}
	m, err := parseMeta(last.Header, last.Data, digest)
	if err == nil {
		return m, nil
	}
	found := false
	for seq, i := uint64(1), 0; i < maxMetaWalk && seq <= last.Seq; i++ {
		msg, werr := s.msgGet(ctx, map[string]any{"seq": seq, "next_by_subj": subject})
		if errors.Is(werr, ErrNotFound) {
			break
		}
		if werr != nil {
			return meta{}, werr
		}
		if msg.Seq < seq {
			return meta{}, fmt.Errorf("task bundle store %q: message %d in a walk from %d", s.stream, msg.Seq, seq)
		}
		if usable, uerr := parseMeta(msg.Header, msg.Data, digest); uerr == nil {
			m, found = usable, true
		}
		seq = msg.Seq + 1
	}
	if !found {
		return meta{}, err
	}
	return m, nil
}

// maxMetaWalk bounds the metadata messages Store.meta reads: a client
// writes one per upload, and refreshes a bundle in use once a day.
const maxMetaWalk = 256

// errUnusableMeta: metadata that is not digest's as its client writes it
// (the client's own junk, or what the server stored on somebody's behalf).
var errUnusableMeta = fmt.Errorf("%w: unusable metadata", ErrDigestMismatch)

// metaHeader is the header block of metadata as Put writes it, byte for
// byte: the stream's answers give stored blocks as they are.
var metaHeader = []byte("NATS/1.0\r\n" + markHeader + ": meta\r\n\r\n")

// markHeader marks a bundle's metadata: what the server stores on
// somebody's behalf (see the package's Trust) carries either no header
// (an acknowledgement; a direct get's answer asked for without headers)
// or the server's own beside any (a direct get's), or a status.
const markHeader = "Ingo-Bundle"

// parseMeta checks a stored metadata message of digest, its header block
// as stored; its errors wrap errUnusableMeta.
func parseMeta(header, data []byte, digest string) (meta, error) {
	var m meta
	var err error
	switch {
	case !bytes.Equal(header, metaHeader):
		err = errors.New("not written as a client writes it")
	case json.Unmarshal(data, &m) != nil:
		err = errors.New("unreadable")
	default:
		err = m.check(digest)
	}
	if err != nil {
		return meta{}, fmt.Errorf("%w: %w", errUnusableMeta, err)
	}
	return m, nil
}

// check says whether m can be digest's metadata.
func (m meta) check(digest string) error {
	switch {
	case m.Digest != digest:
		return fmt.Errorf("of %q", m.Digest)
	case m.Size < 0 || m.Size > MaxArchiveSize:
		return fmt.Errorf("%w: bundle %s is %d bytes, over the limit of %d", ErrTooLarge, digest, m.Size, MaxArchiveSize)
	case len(m.Chunks) == 0 || len(m.Chunks) > maxChunks:
		return fmt.Errorf("it lists %d chunks", len(m.Chunks))
	}
	return nil
}

// msgGet asks the stream's leader for one stored message. The error
// wraps ErrNotFound when there is none, ErrNoStore when nobody answers.
func (s *Store) msgGet(ctx context.Context, req map[string]any) (*natsconn.StoredMsg, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	m, err := natsconn.GetStored(ctx, s.js.Conn(), s.stream, req)
	switch {
	case errors.Is(err, natsconn.ErrNoMessage):
		return nil, ErrNotFound
	case errors.Is(err, natsconn.ErrNoStream):
		return nil, fmt.Errorf("%w: %w (has a backend started? `ingo backend` creates it)", ErrNoStore, err)
	case err != nil:
		return nil, fmt.Errorf("task bundle store: %w", s.explain(err))
	}
	return m, nil
}
