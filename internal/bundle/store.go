package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
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

// RefreshAfter is the age past which Put uploads a bundle again, so that
// a bundle a job names stays in the store for at least the store's
// retention minus RefreshAfter after the job was submitted (EnsureStore's
// retention is at least MinRetention). When that upload fails for want of
// room (ErrStoreFull), the copy uploaded before is used: it has days left.
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
// data subject, never get in; and it hashes what it read. What NATS may
// store there on somebody's behalf is the package's Trust. Safe for
// concurrent use.
type Store struct {
	js     jetstream.JetStream
	subj   messages.Subjects
	stream string
	// refreshAfter is RefreshAfter; tests shorten it.
	refreshAfter time.Duration

	mu       sync.Mutex
	uploaded map[string]upload // by fileName: what Put uploaded
	lastSeq  uint64            // the metadata sequence of the last upload
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
	return &Store{js: js, subj: subj, stream: subj.BundleStream(), refreshAfter: RefreshAfter,
		uploaded: map[string]upload{}}, nil
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
	// MaxBytes bounds the stream (DefaultStoreBytes). Once it is full, new
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
	scfg := jetstream.StreamConfig{
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
	}
	err = natsconn.RetryStoreFailed(ctx, func() error {
		_, err := s.js.CreateOrUpdateStream(ctx, scfg)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("task bundle store %q: %w", s.stream, natsconn.ExplainStore(err))
	}
	return s, nil
}

// Check says whether the store exists, by asking for a bundle in owner's
// space: an agent's call (a frontend may read nothing of the stream). The
// error wraps ErrNoStore when it does not.
func (s *Store) Check(ctx context.Context, owner string) error {
	// The answer is "no such message" from an existing stream, and
	// nobody's answer from a missing one.
	_, err := s.msgGet(ctx, map[string]any{"last_by_subj": s.subject(owner, "sha256:"+zeroHex, "meta")})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

const zeroHex = "0000000000000000000000000000000000000000000000000000000000000000"

// Put uploads b as owner's (a client id) unless this Store uploaded it
// for owner less than RefreshAfter ago, and says whether it uploaded. A
// frontend may read nothing of the stream, not even its own metadata (its
// direct gets were how it could have the server store bytes of its choice
// on any subject: the package's Trust), so a process uploads each bundle
// once, and again a day later. So it cannot see that the stream lost a
// bundle within that day (deleted and made anew by an operator, restored
// from an older copy): it forgets its uploads when an upload finds no
// stream, or the stream's sequences begun again, and a process started
// afterwards uploads anew. Two uploads of one bundle at once both land;
// either one's metadata is whole, and the reader takes the last.
func (s *Store) Put(ctx context.Context, owner string, b *Bundle) (uploaded bool, err error) {
	if err := messages.ValidateID(owner); err != nil {
		return false, fmt.Errorf("upload bundle %s: client %w", b.digest, err)
	}
	key := fileName(owner, b.digest)
	s.mu.Lock()
	_, have := s.uploaded[key]
	s.mu.Unlock()
	if s.Fresh(owner, b.digest) {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, putTimeout(len(b.data)))
	defer cancel()
	meta, err := s.upload(ctx, owner, b)
	if err != nil {
		if have && errors.Is(err, ErrStoreFull) { // the copy uploaded has days left
			return false, nil
		}
		if errors.Is(err, ErrNoStore) { // and what it held with it
			s.forgetAll()
		}
		return false, fmt.Errorf("upload bundle %s: %w", b.digest, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if meta < s.lastSeq {
		// The stream's sequences began again: it was made anew, without
		// what this Store uploaded before.
		clear(s.uploaded)
	}
	s.lastSeq = meta
	s.uploaded[key] = upload{at: time.Now(), meta: meta}
	return true, nil
}

// Fresh says whether Put of owner's bundle digest would upload nothing:
// this Store uploaded it, less than a day ago. A client that knows a
// folder's bundle (StampCourse) need not pack it again then.
func (s *Store) Fresh(owner, digest string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, have := s.uploaded[fileName(owner, digest)]
	return have && time.Since(last.at) < s.refreshAfter
}

// forgetAll forgets every upload, so that Put uploads again.
func (s *Store) forgetAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.uploaded)
	s.lastSeq = 0
}

// upload is one Put's.
type upload struct {
	at   time.Time
	meta uint64 // the stream sequence of its metadata
}

// MetaSeq is the stream sequence of the metadata this Store last wrote
// for owner's bundle digest, for the job (JobDescription.TaskBundleMeta):
// an agent then reads exactly that message. 0 when it wrote none.
func (s *Store) MetaSeq(owner, digest string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uploaded[fileName(owner, digest)].meta
}

// upload publishes b's chunks, then the metadata naming them, and returns
// the metadata's sequence.
func (s *Store) upload(ctx context.Context, owner string, b *Bundle) (uint64, error) {
	data := s.subject(owner, b.digest, "data")
	m := meta{Digest: b.digest, Size: int64(len(b.data))}
	for off := 0; off < len(b.data); off += ChunkSize {
		ack, err := s.js.Publish(ctx, data, b.data[off:min(off+ChunkSize, len(b.data))])
		if err != nil {
			return 0, s.explain(err)
		}
		m.Chunks = append(m.Chunks, ack.Sequence)
	}
	body, err := json.Marshal(m)
	if err != nil {
		return 0, err
	}
	ack, err := s.js.PublishMsg(ctx, &nats.Msg{Subject: s.subject(owner, b.digest, "meta"),
		Header: nats.Header{markHeader: {"meta"}}, Data: body})
	if err != nil {
		return 0, s.explain(err)
	}
	return ack.Sequence, nil
}

// putTimeout is 5 s, plus a second per 4 MiB.
func putTimeout(size int) time.Duration {
	return 5*time.Second + time.Duration(size/(4<<20))*time.Second
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
