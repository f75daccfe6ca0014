package bundle

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// DefaultCacheBytes is the budget of a Cache made with maxBytes 0.
const DefaultCacheBytes = 4 << 30

// tmpPrefix marks files being written; a crash can leave them behind, and
// NewCache removes them.
const tmpPrefix = ".tmp-"

// Cache keeps bundles on an agent's disk, one file per bundle and client
// (the owner: the client that uploaded it, whose jobs may use it) under
// its directory, within a byte budget, evicting the least recently used. One
// directory belongs to one Cache in one process. Safe for concurrent use.
//
// Concurrent Gets of a bundle that is not on disk share one fetch from the
// store. A fetch is cancelled only when every Get waiting for it is.
//
// # Owners
//
// A bundle is kept once per owner, never shared between two: a client's
// job gets a bundle only if that client's own space in the store holds
// it. A digest alone does not prove that a client may read a bundle (it
// may have learnt another course's digest), and another client's upload
// does not prove that it holds the bytes.
//
// # Re-verification
//
// The Cache hashes a file every time it reads it back, rather than trusting
// the files it wrote. Files are written without fsync, so a crash can leave
// a torn one that a restart would otherwise serve; a disk error or anybody
// with write access to the directory could change what grades students,
// with no trace. Hashing costs about a millisecond per megabyte read, small
// beside starting a container, and it also makes fsync unneeded. A file that
// fails the check is removed and fetched again.
//
// # Bounds
//
// The files of the cache never hold more than maxBytes together. A bundle
// larger than maxBytes is returned but not kept. Bundles returned by Get are
// in memory: eviction never pulls one from under a running job.
type Cache struct {
	dir      string
	maxBytes int64
	// fetch is Store.Get; tests wrap it to count and to hold fetches.
	fetch func(ctx context.Context, owner, digest string, meta uint64) (*Bundle, error)

	mu       sync.Mutex
	lru      *list.List               // of *cached, most recently used first
	index    map[string]*list.Element // fileName -> element of lru
	total    int64                    // sum of the sizes in lru
	inflight map[string]*fetchCall
}

type cached struct {
	owner, digest string
	size          int64
}

func (e *cached) name() string { return fileName(e.owner, e.digest) }

// fileName is the name of the file of owner's bundle digest, and its key
// in the index: "sha256-<hex>.<owner>" (owners are client ids, letters,
// digits, '-' and '_').
func fileName(owner, digest string) string { return objectName(digest) + "." + owner }

// parseFileName is the inverse of fileName.
func parseFileName(name string) (owner, digest string, ok bool) {
	object, owner, ok := strings.Cut(name, ".")
	digest = strings.Replace(object, "-", ":", 1)
	if !ok || ValidateDigest(digest) != nil || messages.ValidateID(owner) != nil {
		return "", "", false
	}
	return owner, digest, true
}

// fetchCall is one fetch shared by every Get of its digest.
type fetchCall struct {
	done    chan struct{}
	bundle  *Bundle
	err     error
	waiters int
	cancel  context.CancelFunc
}

// NewCache opens (or creates) the cache directory dir, takes over the
// bundles a previous process left there, and trims them to maxBytes
// (0 means DefaultCacheBytes).
func NewCache(store *Store, dir string, maxBytes int64) (*Cache, error) {
	if store == nil {
		return nil, errors.New("bundle cache: nil store")
	}
	if maxBytes < 0 {
		return nil, fmt.Errorf("bundle cache: negative size %d", maxBytes)
	}
	if maxBytes == 0 {
		maxBytes = DefaultCacheBytes
	}
	c := &Cache{
		dir:      dir,
		maxBytes: maxBytes,
		fetch:    store.Get,
		lru:      list.New(),
		index:    map[string]*list.Element{},
		inflight: map[string]*fetchCall{},
	}
	if err := c.load(); err != nil {
		return nil, fmt.Errorf("bundle cache %s: %w", dir, err)
	}
	return c, nil
}

// load indexes the files of a previous process, least recently used (by
// mtime, which Get refreshes) first. Their contents are checked when read.
func (c *Cache) load() error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return err
	}
	des, err := os.ReadDir(c.dir)
	if err != nil {
		return err
	}
	type found struct {
		cached
		mtime time.Time
	}
	var files []found
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, tmpPrefix) {
			if err := os.Remove(filepath.Join(c.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		if !de.Type().IsRegular() {
			continue // not ours: leave it alone
		}
		owner, digest, ok := parseFileName(name)
		if !ok {
			// A bundle of the layout before owners, which no Get can
			// ask for again: ours, and only taking room.
			if ValidateDigest(strings.Replace(name, "-", ":", 1)) == nil {
				if err := os.Remove(filepath.Join(c.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
			continue // not ours: leave it alone
		}
		info, err := de.Info()
		if err != nil {
			return err
		}
		files = append(files, found{cached{owner, digest, info.Size()}, info.ModTime()})
	}
	slices.SortFunc(files, func(a, b found) int {
		if d := a.mtime.Compare(b.mtime); d != 0 {
			return d
		}
		return strings.Compare(a.name(), b.name())
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range files {
		c.index[f.name()] = c.lru.PushFront(&cached{f.owner, f.digest, f.size})
		c.total += f.size
	}
	c.evictLocked(nil)
	return nil
}

// Get returns owner's bundle of digest (owner is the id of the client
// whose job asks; meta, the sequence of the metadata it wrote, see
// Store.Get): from disk when it is there and intact, else from the store
// (once for all concurrent callers), kept on disk.
func (c *Cache) Get(ctx context.Context, owner, digest string, meta uint64) (TaskBundle, error) {
	b, err := c.get(ctx, owner, digest, meta)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (c *Cache) get(ctx context.Context, owner, digest string, meta uint64) (*Bundle, error) {
	if err := ValidateDigest(digest); err != nil {
		return nil, err
	}
	if err := messages.ValidateID(owner); err != nil {
		return nil, fmt.Errorf("bundle %s: client %w", digest, err)
	}
	key := fileName(owner, digest)
	if b := c.fromDisk(key, digest); b != nil {
		return b, nil
	}
	c.mu.Lock()
	call := c.inflight[key]
	if call == nil {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		call = &fetchCall{done: make(chan struct{}), cancel: cancel}
		c.inflight[key] = call
		go c.run(fctx, owner, digest, meta, call)
	}
	call.waiters++
	c.mu.Unlock()

	select {
	case <-call.done:
		return call.bundle, call.err
	case <-ctx.Done():
		c.mu.Lock()
		call.waiters--
		if call.waiters == 0 {
			call.cancel()
			// A Get arriving now must not join a cancelled fetch.
			if c.inflight[key] == call {
				delete(c.inflight, key)
			}
		}
		c.mu.Unlock()
		return nil, fmt.Errorf("bundle %s: %w", digest, context.Cause(ctx))
	}
}

// fromDisk returns the cached bundle of key (a fileName) and digest, or
// nil when it is not on disk or not intact (then it is forgotten, and
// fetched again).
func (c *Cache) fromDisk(key, digest string) *Bundle {
	c.mu.Lock()
	el, ok := c.index[key]
	if ok {
		c.lru.MoveToFront(el)
	}
	c.mu.Unlock()
	if !ok {
		return nil
	}
	path := filepath.Join(c.dir, key)
	data, err := readBounded(path)
	if err == nil {
		var b *Bundle
		if b, err = FromBytes(digest, data); err == nil {
			now := time.Now()
			// The mtime orders eviction after a restart; failing to set
			// it only makes that order less exact.
			_ = os.Chtimes(path, now, now)
			return b
		}
	}
	// Evicted meanwhile, unreadable or damaged: forget it and fetch again.
	c.mu.Lock()
	if c.index[key] == el {
		c.removeLocked(el)
	}
	c.mu.Unlock()
	return nil
}

func (c *Cache) run(ctx context.Context, owner, digest string, meta uint64, call *fetchCall) {
	defer call.cancel()
	b, err := c.fetch(ctx, owner, digest, meta)
	if err == nil {
		err = c.keep(owner, b)
	}
	if err != nil {
		err = fmt.Errorf("bundle cache: %w", err)
	}
	call.bundle, call.err = b, err
	if err != nil {
		call.bundle = nil
	}
	c.mu.Lock()
	if key := fileName(owner, digest); c.inflight[key] == call {
		delete(c.inflight, key)
	}
	c.mu.Unlock()
	close(call.done)
}

// keep writes b to disk and makes room for it. A write that fails fails the
// Get: a cache that cannot keep anything would fetch every bundle for every
// job, quietly, and the operator must hear of a full or broken disk.
func (c *Cache) keep(owner string, b *Bundle) error {
	if b.Size() > c.maxBytes {
		return nil // served from memory, never kept
	}
	f, err := os.CreateTemp(c.dir, tmpPrefix)
	if err != nil {
		return fmt.Errorf("keep %s: %w", b.digest, err)
	}
	_, err = f.Write(b.data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("keep %s: %w", b.digest, err)
	}
	// The rename happens under the lock, so that the index and the files
	// agree whenever the lock is free: eviction cannot remove a file that
	// is being installed.
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &cached{owner, b.digest, b.Size()}
	if err := os.Rename(f.Name(), filepath.Join(c.dir, e.name())); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("keep %s: %w", b.digest, err)
	}
	if el, ok := c.index[e.name()]; ok { // renamed over an entry we had
		c.total -= el.Value.(*cached).size
		c.lru.Remove(el)
	}
	el := c.lru.PushFront(e)
	c.index[e.name()] = el
	c.total += b.Size()
	c.evictLocked(el)
	return nil
}

// evictLocked removes least recently used files until the total fits,
// never keep (the file just written).
func (c *Cache) evictLocked(keep *list.Element) {
	for c.total > c.maxBytes {
		el := c.lru.Back()
		if el == nil || el == keep {
			return
		}
		c.removeLocked(el)
	}
}

func (c *Cache) removeLocked(el *list.Element) {
	e := el.Value.(*cached)
	c.lru.Remove(el)
	delete(c.index, e.name())
	c.total -= e.size
	// A reader that opened the file keeps its bytes; a later one misses
	// and fetches. If the removal fails the file is orphaned until restart,
	// where load counts it again.
	_ = os.Remove(filepath.Join(c.dir, e.name()))
}

// readBounded reads a cache file, but never more than a bundle can be:
// the file may not be the one we wrote.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxArchiveSize+1))
	if err == nil && len(data) > MaxArchiveSize {
		err = fmt.Errorf("%w: %s is over %d bytes", ErrTooLarge, path, MaxArchiveSize)
	}
	return data, err
}
