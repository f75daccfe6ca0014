package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/messages"
)

// ErrNoStore: the bundle stream does not exist (no backend has created it
// yet, or the NATS server runs no JetStream).
var ErrNoStore = errors.New("task bundle store missing")

// ErrStoreFull: the bundle stream refused an upload for want of room.
var ErrStoreFull = errors.New("task bundle store full")

// errChunkMissing: a chunk the metadata names is not in the stream (yet,
// on a replica that lags; or any more).
var errChunkMissing = fmt.Errorf("%w: a chunk is missing", ErrDigestMismatch)

// ChunkSize is the most bytes of a bundle in one message: well under any
// NATS server's max_payload (1 MiB by default).
const ChunkSize = 256 << 10

// RefreshAfter is the age past which Put uploads a bundle again rather
// than count on the copy it finds, so that a bundle a job names stays in
// the store for at least the store's retention minus RefreshAfter after
// the job was submitted (EnsureStore's retention is at least MinRetention).
// When that upload fails (the store is full), the copy found is used: it
// has days left.
const RefreshAfter = 24 * time.Hour

// MinRetention is the shortest retention EnsureStore takes: a job waits
// at most this minus RefreshAfter (two days) for its bundle to be fetched.
const MinRetention = 3 * 24 * time.Hour

// maxChunks bounds the chunks a metadata message may list, whoever wrote
// it: a bundle of MaxArchiveSize has MaxArchiveSize/ChunkSize.
const maxChunks = MaxArchiveSize / ChunkSize

// Store keeps bundles in a JetStream stream (Subjects.BundleStream). Each
// client's bundles are under the subjects of its own id, which NATS lets
// only that client (and admins and the backend) publish on, and the stream
// refuses rollups: so what one client publishes can neither erase nor
// replace another's bundles, and one client cannot list another's. A
// bundle is its chunks, on "<space>.<digest token>.data", then a metadata
// message on "<space>.<digest token>.meta" naming the sequences of its
// chunks. A reader takes the chunks by those sequences, so chunks of a
// concurrent upload of the same bundle, or anything else published on the
// data subject, never get in; and it hashes what it read. Safe for
// concurrent use.
type Store struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	subj   messages.Subjects
	stream string
	// refreshAfter is RefreshAfter; tests shorten it.
	refreshAfter time.Duration
}

// meta is the metadata message of a bundle.
type meta struct {
	Digest string   `json:"digest"`
	Size   int64    `json:"size"`
	Chunks []uint64 `json:"chunks"` // stream sequences, in order
}

// OpenStore returns the bundle store of the installation with subject
// prefix prefix over nc. It does no I/O: the stream is the backend's to
// create (EnsureStore), and Check says whether it did.
func OpenStore(nc *nats.Conn, prefix string) (*Store, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("task bundle store: JetStream: %w", err)
	}
	subj := messages.NewSubjects(prefix)
	return &Store{nc: nc, js: js, subj: subj, stream: subj.BundleStream(), refreshAfter: RefreshAfter}, nil
}

// StoreConfig is the bundle stream's configuration; zero fields take the
// defaults.
type StoreConfig struct {
	// Replicas of the stream (1; 3 on a NATS cluster).
	Replicas int
	// Retention is how long every message is kept (DefaultRetention, at
	// least MinRetention): uploads are per client, and a client that takes
	// a new id per process (the admin CLI) uploads its bundles again each
	// time, so that nothing else would bound the store's age.
	Retention time.Duration
	// MaxBytes bounds the stream (DefaultMaxBytes). Once it is full, new
	// uploads are refused and what is there stays: one frontend's uploads
	// can then stop others' until retention frees room, but never erase
	// their bundles, nor take the disk the job journal needs.
	MaxBytes int64
}

// Defaults of StoreConfig.
const (
	DefaultRetention        = 30 * 24 * time.Hour
	DefaultStoreBytes       = 2 << 30
	minStoreBytes     int64 = 64 << 20
)

// EnsureStore creates the bundle stream, or brings an existing one to
// cfg: the backend's call on start, so that the store exists before
// agents and frontends use it.
func EnsureStore(ctx context.Context, nc *nats.Conn, prefix string, cfg StoreConfig) (*Store, error) {
	cfg.Replicas = max(cfg.Replicas, 1)
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultStoreBytes
	}
	if cfg.Retention < MinRetention {
		return nil, fmt.Errorf("task bundle store: a retention of %v is under the least, %v", cfg.Retention, MinRetention)
	}
	if cfg.MaxBytes < minStoreBytes {
		return nil, fmt.Errorf("task bundle store: a bound of %d bytes is under the least, %d", cfg.MaxBytes, minStoreBytes)
	}
	s, err := OpenStore(nc, prefix)
	if err != nil {
		return nil, err
	}
	_, err = s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        s.stream,
		Description: "ingo task bundles, under the id of the client that uploaded each",
		Subjects:    []string{s.subj.Bundles("*") + ".>"},
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		AllowDirect: true,
		// A rollup header would let any publisher erase every bundle
		// (the object store that held bundles before protocol 4 did).
		AllowRollup: false,
		MaxMsgSize:  ChunkSize + 4<<10,
		MaxAge:      cfg.Retention,
		MaxBytes:    cfg.MaxBytes,
		Discard:     jetstream.DiscardNew,
	})
	if err != nil {
		return nil, fmt.Errorf("task bundle store %q: %w", s.stream, natsconn.ExplainStore(err))
	}
	return s, nil
}

// Check says whether the store exists, by asking for a bundle in owner's
// space (one the caller may read: its own, or any for an agent); the
// error wraps ErrNoStore when it does not.
func (s *Store) Check(ctx context.Context, owner string) error {
	// The answer is "no such message" from an existing stream, and
	// nobody's answer from a missing one.
	_, _, err := s.lastMeta(ctx, owner, "sha256:"+zeroHex)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

const zeroHex = "0000000000000000000000000000000000000000000000000000000000000000"

// Put uploads b as owner's (a client id) unless owner has a copy younger
// than RefreshAfter, and says whether it uploaded. Two uploads of one
// bundle at once both land; either one's metadata is whole, and the
// reader takes whichever is last.
func (s *Store) Put(ctx context.Context, owner string, b *Bundle) (uploaded bool, err error) {
	if err := messages.ValidateID(owner); err != nil {
		return false, fmt.Errorf("upload bundle %s: client %w", b.digest, err)
	}
	ctx, cancel := context.WithTimeout(ctx, putTimeout(len(b.data)))
	defer cancel()
	m, stored, err := s.lastMeta(ctx, owner, b.digest)
	have := err == nil && m.Size == int64(len(b.data))
	switch {
	case have && time.Since(stored) < s.refreshAfter:
		return false, nil
	case err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrDigestMismatch):
		return false, fmt.Errorf("look up bundle %s: %w", b.digest, err)
	}
	if err := s.upload(ctx, owner, b); err != nil {
		if have { // the copy found has days left; the next Put tries again
			return false, nil
		}
		return false, fmt.Errorf("upload bundle %s: %w", b.digest, err)
	}
	return true, nil
}

// upload publishes b's chunks, then the metadata naming them.
func (s *Store) upload(ctx context.Context, owner string, b *Bundle) error {
	data := s.subject(owner, b.digest, "data")
	m := meta{Digest: b.digest, Size: int64(len(b.data))}
	for off := 0; off < len(b.data); off += ChunkSize {
		ack, err := s.js.Publish(ctx, data, b.data[off:min(off+ChunkSize, len(b.data))])
		if err != nil {
			return s.explain(err)
		}
		m.Chunks = append(m.Chunks, ack.Sequence)
	}
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = s.js.Publish(ctx, s.subject(owner, b.digest, "meta"), body)
	return s.explain(err)
}

// putTimeout is 5 s, plus a second per 4 MiB.
func putTimeout(size int) time.Duration {
	return 5*time.Second + time.Duration(size/(4<<20))*time.Second
}

// Get downloads and verifies the bundle of digest that owner uploaded.
// The error wraps ErrNotFound when owner has no such bundle,
// ErrDigestMismatch when what is stored is not that bundle (damaged, or
// not what its metadata says), ErrInvalidDigest, ErrTooLarge or ErrNoStore.
//
// Any replica of the stream answers a direct get, and one may lag behind
// the upload a frontend just made: a bundle or a chunk not found is asked
// for again, three times within about a second.
func (s *Store) Get(ctx context.Context, owner, digest string) (*Bundle, error) {
	if err := ValidateDigest(digest); err != nil {
		return nil, err
	}
	if err := messages.ValidateID(owner); err != nil {
		return nil, fmt.Errorf("fetch bundle %s: client %w", digest, err)
	}
	for wait := 100 * time.Millisecond; ; wait *= 2 {
		b, err := s.get(ctx, owner, digest)
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

func (s *Store) get(ctx context.Context, owner, digest string) (*Bundle, error) {
	m, _, err := s.lastMeta(ctx, owner, digest)
	if err != nil {
		return nil, fmt.Errorf("fetch bundle %s of %s: %w", digest, owner, err)
	}
	want := s.subject(owner, digest, "data")
	data := make([]byte, 0, m.Size)
	for _, seq := range m.Chunks {
		msg, err := s.directGet(ctx, s.directAPI(), fmt.Appendf(nil, `{"seq":%d}`, seq))
		if err != nil {
			if errors.Is(err, ErrNotFound) { // named by the metadata: not here yet, or gone
				err = fmt.Errorf("%w: %d", errChunkMissing, seq)
			}
			return nil, fmt.Errorf("fetch bundle %s of %s: %w", digest, owner, err)
		}
		// A sequence in somebody else's space, or another bundle's,
		// would hand this owner bytes it never uploaded. The server adds
		// its headers after those the message was stored with, which its
		// publisher chose: the last one is the server's.
		if got, n := lastValue(msg.Header, jetstream.SubjectHeader), lastValue(msg.Header, jetstream.SequenceHeader); got != want || n != strconv.FormatUint(seq, 10) {
			return nil, fmt.Errorf("%w: bundle %s of %s names message %d of %q (%s)", ErrDigestMismatch, digest, owner, seq, got, n)
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

// lastMeta reads and checks the last metadata of owner's bundle digest,
// and says when it was stored (the zero time when the server does not).
func (s *Store) lastMeta(ctx context.Context, owner, digest string) (meta, time.Time, error) {
	msg, err := s.directGet(ctx, s.directAPI()+"."+s.subject(owner, digest, "meta"), nil)
	if err != nil {
		return meta{}, time.Time{}, err
	}
	stored, _ := time.Parse(time.RFC3339Nano, msg.Header.Get(jetstream.TimeStampHeaer))
	var m meta
	switch {
	case json.Unmarshal(msg.Data, &m) != nil:
		err = fmt.Errorf("%w: unreadable metadata", ErrDigestMismatch)
	case m.Digest != digest:
		err = fmt.Errorf("%w: metadata of %q", ErrDigestMismatch, m.Digest)
	case m.Size < 0 || m.Size > MaxArchiveSize:
		err = fmt.Errorf("%w: bundle %s is %d bytes, over the limit of %d", ErrTooLarge, digest, m.Size, MaxArchiveSize)
	case len(m.Chunks) == 0 || len(m.Chunks) > maxChunks:
		err = fmt.Errorf("%w: metadata lists %d chunks", ErrDigestMismatch, len(m.Chunks))
	}
	if err != nil {
		return meta{}, time.Time{}, err
	}
	return m, stored, nil
}

// directGet asks the stream for one message. The error wraps ErrNotFound
// when there is none, ErrNoStore when nobody answers.
func (s *Store) directGet(ctx context.Context, subject string, body []byte) (*nats.Msg, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	msg, err := s.nc.RequestWithContext(ctx, subject, body)
	if err != nil {
		return nil, s.explain(err)
	}
	switch status := msg.Header.Get("Status"); status {
	case "":
		return msg, nil
	case "404":
		return nil, ErrNotFound
	default:
		code, _ := strconv.Atoi(status)
		return nil, fmt.Errorf("task bundle store %q answered %d %s", s.stream, code, msg.Header.Get("Description"))
	}
}

func (s *Store) explain(err error) error {
	var api *jetstream.APIError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse):
		return fmt.Errorf("%w: no stream %q (has a backend started? `ingo backend` creates it; does the NATS server run JetStream?): %w", ErrNoStore, s.stream, err)
	case errors.As(err, &api) && strings.Contains(api.Description, "maximum bytes exceeded"):
		return fmt.Errorf("%w: the stream %q holds as much as backend.bundle-max-bytes allows, until backend.bundle-retention frees room: %w", ErrStoreFull, s.stream, err)
	}
	return err
}

// lastValue is the last value of header key.
func lastValue(h nats.Header, key string) string {
	v := h.Values(key)
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func (s *Store) directAPI() string { return "$JS.API.DIRECT.GET." + s.stream }

// subject is the subject of owner's bundle digest: kind is "meta" or "data".
func (s *Store) subject(owner, digest, kind string) string {
	return s.subj.Bundles(owner) + "." + objectName(digest) + "." + kind
}

// OpenCache opens the bundle store of the installation with subject prefix
// prefix over nc, and a cache of it in dir bounded by size: what an agent
// needs to fetch task folders.
func OpenCache(nc *nats.Conn, prefix, dir string, size int64) (*Cache, error) {
	store, err := OpenStore(nc, prefix)
	if err != nil {
		return nil, err
	}
	return NewCache(store, dir, size)
}
