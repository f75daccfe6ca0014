package frontendclient

import (
	"context"
	"fmt"
	"sync"

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

// uploader opens the task bundle store on first use and keeps it.
type uploader struct {
	c     *Client
	mu    sync.Mutex // held while opening: the first callers wait for one open
	store *bundle.Store
	// packs bounds the folders packed at once (maxPacks).
	packs *semaphore.Weighted
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
	if err := c.uploads.packs.Acquire(ctx, 1); err != nil {
		return "", fmt.Errorf("pack task %s: waiting for other tasks to be packed: %w", dir, err)
	}
	// Held until the bundle, in memory, is stored.
	defer c.uploads.packs.Release(1)
	b, err := bundle.PackCourse(dir, common, bundle.PackLimits{})
	if err != nil {
		return "", fmt.Errorf("pack task %s: %w", dir, err)
	}
	store, err := c.uploads.open(ctx)
	if err != nil {
		return "", fmt.Errorf("upload task %s: %w", dir, err)
	}
	uploaded, err := store.Put(ctx, c.opts.ClientID, b)
	if err != nil {
		return "", fmt.Errorf("upload task %s: %w", dir, err)
	}
	if uploaded {
		c.stats.bundlesUploaded.Add(1)
		c.log.Debug("task bundle uploaded", "dir", dir, "digest", b.Digest())
	}
	return b.Digest(), nil
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
