package bundle

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/natsconn"
)

// Store keeps bundles in a JetStream object store, one object per digest
// (named by objectName). The bucket's name comes from
// messages.Subjects.TaskBundleStore(). Safe for concurrent use.
type Store struct {
	obs    jetstream.ObjectStore
	bucket string
}

// NewStore opens the object store bucket, creating it when missing (file
// storage, one replica) if the connection may: only the backend may
// (package natsauth), and it does so on start with EnsureStore.
func NewStore(ctx context.Context, js jetstream.JetStream, bucket string) (*Store, error) {
	return openStore(ctx, js, bucket, 1)
}

// EnsureStore is NewStore with replicas for a bucket it creates: the
// backend's call, so that the store exists before agents and frontends
// bind to it.
func EnsureStore(ctx context.Context, js jetstream.JetStream, bucket string, replicas int) (*Store, error) {
	return openStore(ctx, js, bucket, max(replicas, 1))
}

// BindStore opens the object store bucket without ever creating it: an
// agent's call, which may only read the store (the error wraps
// jetstream.ErrBucketNotFound until the backend made it).
func BindStore(ctx context.Context, js jetstream.JetStream, bucket string) (*Store, error) {
	obs, err := js.ObjectStore(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("task bundle store %q: %w", bucket, err)
	}
	return &Store{obs: obs, bucket: bucket}, nil
}

func openStore(ctx context.Context, js jetstream.JetStream, bucket string, replicas int) (*Store, error) {
	obs, err := js.ObjectStore(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		obs, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:      bucket,
			Description: "ingo task bundles, named by content hash",
			Replicas:    replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) { // created meanwhile by another process
			obs, err = js.ObjectStore(ctx, bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("task bundle store %q: %w", bucket, natsconn.ExplainStore(err))
	}
	return &Store{obs: obs, bucket: bucket}, nil
}

// Put uploads b unless the store holds it already, and says whether it
// uploaded. An object of the right name but other bytes (a damaged or
// tampered upload) is replaced. Two clients putting the same new bundle at
// once may both upload; the bytes are the same, so either wins, and the
// one NATS refuses to clean up after succeeds too.
func (s *Store) Put(ctx context.Context, b *Bundle) (uploaded bool, err error) {
	name := objectName(b.digest)
	info, err := s.obs.GetInfo(ctx, name)
	switch {
	case err == nil:
		// NATS keeps the SHA-256 of every object: it tells, without
		// downloading, whether the stored bytes are ours.
		if info.Size == uint64(b.Size()) && info.Digest == natsDigest(b.digest) {
			return false, nil
		}
	case !errors.Is(err, jetstream.ErrObjectNotFound):
		return false, fmt.Errorf("look up bundle %s in %q: %w", b.digest, s.bucket, err)
	}
	return true, s.store(ctx, b)
}

// store uploads b.
func (s *Store) store(ctx context.Context, b *Bundle) error {
	meta := jetstream.ObjectMeta{Name: objectName(b.digest), Description: "ingo task bundle " + b.digest}
	if err := s.upload(ctx, meta, b.data); err != nil {
		// Another client may have stored the same bundle meanwhile (a
		// deadline: the bridge and the CLI uploading one task at once).
		// NATS then purges the other upload's chunks after writing ours,
		// which a frontend may not do: its purge is refused and never
		// answered, so the upload fails though the store holds the
		// bundle. What counts is that it does.
		if s.holds(ctx, b) {
			return nil
		}
		return fmt.Errorf("upload bundle %s to %q: %w", b.digest, s.bucket, err)
	}
	return nil
}

// upload puts data under meta, within a time that a bundle's size
// justifies: a refused purge (see Put) is otherwise waited for until the
// caller's deadline, a minute for a job's submission.
func (s *Store) upload(ctx context.Context, meta jetstream.ObjectMeta, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, putTimeout(len(data)))
	defer cancel()
	_, err := s.obs.Put(ctx, meta, bytes.NewReader(data))
	return err
}

// putTimeout is 5 s, plus a second per 4 MiB.
func putTimeout(size int) time.Duration {
	return 5*time.Second + time.Duration(size/(4<<20))*time.Second
}

// holds says whether the store has b, whole.
func (s *Store) holds(ctx context.Context, b *Bundle) bool {
	info, err := s.obs.GetInfo(ctx, objectName(b.digest))
	return err == nil && info.Size == uint64(b.Size()) && info.Digest == natsDigest(b.digest)
}

// Get downloads and verifies the bundle of digest. The error wraps
// ErrNotFound when the store does not have it, ErrDigestMismatch when the
// stored bytes are not that bundle, ErrInvalidDigest, or ErrTooLarge.
func (s *Store) Get(ctx context.Context, digest string) (*Bundle, error) {
	if err := ValidateDigest(digest); err != nil {
		return nil, err
	}
	res, err := s.obs.Get(ctx, objectName(digest))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("%w: %s in %q", ErrNotFound, digest, s.bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch bundle %s from %q: %w", digest, s.bucket, err)
	}
	defer res.Close()
	info, err := res.Info()
	if err != nil {
		return nil, fmt.Errorf("fetch bundle %s from %q: %w", digest, s.bucket, err)
	}
	// Refuse before reading: the size is the uploader's claim, and a bundle
	// is held in memory.
	if info.Size > MaxArchiveSize {
		return nil, fmt.Errorf("%w: bundle %s is %d bytes, over the limit of %d", ErrTooLarge, digest, info.Size, MaxArchiveSize)
	}
	var buf bytes.Buffer
	buf.Grow(int(info.Size))
	// The limit holds even if the chunks do not add up to the claimed size.
	_, err = io.Copy(&buf, io.LimitReader(res, MaxArchiveSize+1))
	if errors.Is(err, jetstream.ErrDigestMismatch) { // chunks do not match NATS' own hash
		return nil, fmt.Errorf("%w: bundle %s in %q is damaged", ErrDigestMismatch, digest, s.bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch bundle %s from %q: %w", digest, s.bucket, err)
	}
	b, err := FromBytes(digest, buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("bundle from %q: %w", s.bucket, err)
	}
	return b, nil
}

// natsDigest spells a valid digest the way NATS records an object's hash.
func natsDigest(digest string) string {
	sum, _ := hex.DecodeString(digest[len(digestPrefix):])
	return "SHA-256=" + base64.URLEncoding.EncodeToString(sum)
}

// OpenCache opens the bundle store bucket over nc and a cache of it in dir,
// bounded by size: what an agent needs to fetch task folders.
func OpenCache(ctx context.Context, nc *nats.Conn, bucket, dir string, size int64) (*Cache, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("bundle: JetStream: %w", err)
	}
	store, err := NewStore(ctx, js, bucket)
	if err != nil {
		return nil, err
	}
	return NewCache(store, dir, size)
}
