package frontendclient

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/ingo-grader/ingo/internal/bundle"
)

// maxPacks bounds the task folders one client packs at once. Packing
// reads and gzips the whole folder (and a course's $common) into memory,
// up to bundle.DefaultMaxBytes, for every job of a TaskDir: the INGInious
// bridge packs for each job a webapp sends, in a goroutine of its own,
// and forty job messages of 350 bytes naming a course with 30 MB in its
// $common took the bridge from 24 MB to 1.9 GB and 18 s of CPU. Jobs
// wait for their turn instead (their context bounds the wait), until the
// bundle before them is stored.
const maxPacks = 2

// maxPacked bounds the folders whose bundles a client remembers
// (uploader.packed).
const maxPacked = 256

// uploader opens the task bundle store on first use and keeps it.
type uploader struct {
	c     *Client
	mu    sync.Mutex // held while opening: the first callers wait for one open
	store *bundle.Store
	// packs bounds the folders packed at once (maxPacks).
	packs *semaphore.Weighted

	// packed remembers, by folders, the bundle of their last packing and
	// its stamp (bundle.StampCourse): the INGInious bridge names a
	// course's folders for every job, and packing read and gzipped them
	// whole each time (0.3 s of CPU a job for a course with 30 MB in
	// its $common). A folder whose stamp is the same is not read again.
	packedMu sync.Mutex
	packed   map[[2]string]packedFolder
}

// packedFolder is a folder's last packing.
type packedFolder struct {
	stamp  string
	digest string
}

// UploadTask packs the task folder dir into a bundle and puts it in the
// task bundle store unless this client uploaded it already (bundles are
// addressed by content, so the same folder is uploaded once, and again a
// day later). It returns the bundle's digest, for ClientNewJob.TaskBundle;
// NewJob adds which upload it was (TaskBundleMeta). NewJob does all this
// itself for JobRequest.TaskDir.
func (c *Client) UploadTask(ctx context.Context, dir string) (digest string, err error) {
	return c.uploadCourseTask(ctx, dir, "")
}

// uploadedMeta is TaskBundleMeta for digest, when this client uploaded
// it; 0 otherwise.
func (c *Client) uploadedMeta(digest string) uint64 {
	c.uploads.mu.Lock()
	store := c.uploads.store
	c.uploads.mu.Unlock()
	if store == nil {
		return 0
	}
	return store.MetaSeq(c.opts.ClientID, digest)
}

// uploadCourseTask is UploadTask with a course's common folder (see
// JobRequest.CommonDir).
func (c *Client) uploadCourseTask(ctx context.Context, dir, common string) (digest string, err error) {
	store, err := c.uploads.open(ctx)
	if err != nil {
		return "", fmt.Errorf("upload task %s: %w", dir, err)
	}
	// Stamped before it is packed: a change made meanwhile is a later
	// stamp, and the next job packs the folder again.
	stampedAt := time.Now()
	stamp, stampErr := bundle.StampCourse(dir, common, bundle.PackLimits{})
	if d, ok := c.uploads.packedDigest(dir, common, stamp.Sum); stampErr == nil && ok && store.Fresh(c.opts.ClientID, d) {
		c.stats.bundlesReused.Add(1)
		return d, nil
	}
	if err := c.uploads.packs.Acquire(ctx, 1); err != nil {
		return "", fmt.Errorf("pack task %s: waiting for other tasks to be packed: %w", dir, err)
	}
	// Held until the bundle, in memory, is stored.
	defer c.uploads.packs.Release(1)
	b, err := bundle.PackCourse(dir, common, bundle.PackLimits{})
	if err != nil {
		return "", fmt.Errorf("pack task %s: %w", dir, err)
	}
	uploaded, err := store.Put(ctx, c.opts.ClientID, b)
	if err != nil {
		return "", fmt.Errorf("upload task %s: %w", dir, err)
	}
	if stampErr == nil && stamp.Settled(stampedAt) {
		c.uploads.rememberPacked(dir, common, packedFolder{stamp: stamp.Sum, digest: b.Digest()})
	}
	if uploaded {
		c.stats.bundlesUploaded.Add(1)
		c.log.Debug("task bundle uploaded", "dir", dir, "digest", b.Digest())
	}
	return b.Digest(), nil
}

// packedDigest is the digest of the last packing of the folders, if
// their stamp was stamp then.
func (u *uploader) packedDigest(dir, common, stamp string) (string, bool) {
	u.packedMu.Lock()
	defer u.packedMu.Unlock()
	p, ok := u.packed[[2]string{dir, common}]
	return p.digest, ok && p.stamp == stamp
}

// rememberPacked keeps the folders' last packing, and forgets every other
// when maxPacked are kept (a course's tasks are a few hundred folders).
func (u *uploader) rememberPacked(dir, common string, p packedFolder) {
	u.packedMu.Lock()
	defer u.packedMu.Unlock()
	if u.packed == nil || len(u.packed) >= maxPacked {
		u.packed = make(map[[2]string]packedFolder)
	}
	u.packed[[2]string{dir, common}] = p
}

func (u *uploader) open(ctx context.Context) (*bundle.Store, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.store != nil {
		return u.store, nil
	}
	s, err := bundle.OpenStore(u.c.nc, u.c.opts.Prefix)
	if err != nil {
		return nil, err
	}
	u.store = s
	return s, nil
}
