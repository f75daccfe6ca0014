package bundle

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// fetchSpy wraps a Cache's fetch to count store fetches, and to hold them
// until released when hold is set.
type fetchSpy struct {
	calls   atomic.Int32
	release chan struct{}
}

func spy(c *Cache, hold bool) *fetchSpy {
	s := &fetchSpy{}
	if hold {
		s.release = make(chan struct{})
	}
	inner := c.fetch
	c.fetch = func(ctx context.Context, owner, digest string, meta uint64) (*Bundle, error) {
		s.calls.Add(1)
		if s.release != nil {
			select {
			case <-s.release:
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		}
		return inner(ctx, owner, digest, meta)
	}
	return s
}

// waiters is how many Gets wait for the fetch of digest.
func waiters(c *Cache, digest string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if call := c.inflight[fileName(owner, digest)]; call != nil {
		return call.waiters
	}
	return 0
}

// owner is the client whose bundles the tests' caches get.
const owner = "course1"

// path is where c keeps owner's bundle digest.
func (c *Cache) path(digest string) string { return filepath.Join(c.dir, fileName(owner, digest)) }

// storeWith returns a store, as an agent sees it, holding bundles of
// owner of random (incompressible) contents of the given sizes.
func storeWith(t *testing.T, sizes ...int) (*Store, []*Bundle) {
	t.Helper()
	srv := newStoreServer(t)
	s := srv.open(t, natsauth.RoleFrontend, owner)
	rng := rand.New(rand.NewPCG(1, 2))
	var out []*Bundle
	for _, n := range sizes {
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(rng.Uint32())
		}
		b := packTree(t, map[string]file{"blob": {body: string(body)}})
		if _, err := s.Put(t.Context(), owner, b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return srv.open(t, natsauth.RoleAgent, "a1"), out
}

// diskBytes sums the sizes of the files in dir.
func diskBytes(t *testing.T, dir string) int64 {
	t.Helper()
	des, err := os.ReadDir(dir)
	must(t, err)
	var n int64
	for _, de := range des {
		info, err := de.Info()
		must(t, err)
		n += info.Size()
	}
	return n
}

func TestCacheFetchesOnceForConcurrentGets(t *testing.T) {
	store, bs := storeWith(t, 4096)
	c, err := NewCache(store, t.TempDir(), 1<<20)
	must(t, err)
	fetches := spy(c, true)
	digest := bs[0].Digest()

	const n = 20
	results := make(chan error, n)
	for range n {
		go func() {
			b, err := c.Get(t.Context(), owner, digest, 0)
			if err == nil && b.Digest() != digest {
				err = errors.New("wrong bundle " + b.Digest())
			}
			results <- err
		}()
	}
	// Hold the fetch until every Get waits on it, so that none of them is
	// served from disk and the test is about sharing one fetch.
	testutil.Eventually(t, 10*time.Second, func() bool { return waiters(c, digest) == n }, "%d Gets waiting", n)
	close(fetches.release)
	for range n {
		if err := <-results; err != nil {
			t.Error(err)
		}
	}
	if got := fetches.calls.Load(); got != 1 {
		t.Errorf("%d fetches from the store, want 1", got)
	}
	// And later Gets come from disk.
	if _, err := c.Get(t.Context(), owner, digest, 0); err != nil {
		t.Fatal(err)
	}
	if got := fetches.calls.Load(); got != 1 {
		t.Errorf("%d fetches after a cached Get, want 1", got)
	}
}

func TestCacheCancel(t *testing.T) {
	store, bs := storeWith(t, 1024)
	c, err := NewCache(store, t.TempDir(), 1<<20)
	must(t, err)
	fetches := spy(c, true)
	digest := bs[0].Digest()

	// One of two waiters gives up: the other still gets the bundle.
	quitter, quit := context.WithCancel(t.Context())
	quitErr := make(chan error, 1)
	go func() { _, err := c.Get(quitter, owner, digest, 0); quitErr <- err }()
	stayErr := make(chan error, 1)
	go func() { _, err := c.Get(t.Context(), owner, digest, 0); stayErr <- err }()
	testutil.Eventually(t, 10*time.Second, func() bool { return waiters(c, digest) == 2 }, "2 Gets waiting")
	quit()
	if err := <-quitErr; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Get: %v", err)
	}
	close(fetches.release)
	if err := <-stayErr; err != nil {
		t.Errorf("the other Get: %v", err)
	}
}

func TestCacheCancelAll(t *testing.T) {
	store, bs := storeWith(t, 1024)
	c, err := NewCache(store, t.TempDir(), 1<<20)
	must(t, err)
	fetches := spy(c, true) // held: only the cancel ends the first fetch
	digest := bs[0].Digest()

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := c.Get(ctx, owner, digest, 0); done <- err }()
	testutil.Eventually(t, 10*time.Second, func() bool { return waiters(c, digest) == 1 }, "1 Get waiting")
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Get: %v", err)
	}
	// A new Get must start a fetch of its own, not join the cancelled one
	// (which would hand it context.Canceled).
	close(fetches.release)
	if _, err := c.Get(t.Context(), owner, digest, 0); err != nil {
		t.Fatalf("Get after a cancelled fetch: %v", err)
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	store, bs := storeWith(t, 3000, 3000, 3000, 3000)
	a, b, cc, d := bs[0], bs[1], bs[2], bs[3]
	max := a.Size() + b.Size() + a.Size()/2 // room for two
	dir := t.TempDir()
	c, err := NewCache(store, dir, max)
	must(t, err)
	fetches := spy(c, false)

	for i, x := range []*Bundle{a, b, a, cc, a, d} {
		if _, err := c.Get(t.Context(), owner, x.Digest(), 0); err != nil {
			t.Fatal(err)
		}
		if n := diskBytes(t, dir); n > max {
			t.Fatalf("after Get #%d the cache holds %d bytes, over %d", i+1, n, max)
		}
	}
	// a, b, a (disk), c (evicts b), a (disk), d (evicts c): 4 fetches.
	if got := fetches.calls.Load(); got != 4 {
		t.Errorf("%d fetches, want 4", got)
	}
	for _, x := range []*Bundle{a, d} {
		if _, err := os.Stat(c.path(x.Digest())); err != nil {
			t.Errorf("recently used bundle gone: %v", err)
		}
	}
	for _, x := range []*Bundle{b, cc} {
		if _, err := os.Stat(c.path(x.Digest())); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("least recently used bundle kept: %v", err)
		}
	}
}

func TestCacheTooLargeToKeep(t *testing.T) {
	store, bs := storeWith(t, 8192)
	dir := t.TempDir()
	c, err := NewCache(store, dir, 1024)
	must(t, err)
	got, err := c.Get(t.Context(), owner, bs[0].Digest(), 0)
	if err != nil || got.Digest() != bs[0].Digest() {
		t.Fatalf("Get = %v, %v", got, err)
	}
	if n := diskBytes(t, dir); n != 0 {
		t.Errorf("kept %d bytes over a budget of 1024", n)
	}
}

func TestCacheReusesDirectoryAfterRestart(t *testing.T) {
	store, bs := storeWith(t, 2000, 2000, 2000)
	dir := t.TempDir()
	first, err := NewCache(store, dir, 1<<20)
	must(t, err)
	for _, b := range bs {
		if _, err := first.Get(t.Context(), owner, b.Digest(), 0); err != nil {
			t.Fatal(err)
		}
	}
	// What a crash can leave: a half-written file, and a torn bundle.
	must(t, os.WriteFile(filepath.Join(dir, tmpPrefix+"123"), []byte("half"), 0o600))
	must(t, os.WriteFile(first.path(bs[2].Digest()), bs[2].data[:100], 0o600))
	// And a file that is not ours.
	must(t, os.WriteFile(filepath.Join(dir, "README"), []byte("hands off"), 0o600))

	second, err := NewCache(store, dir, 1<<20)
	must(t, err)
	fetches := spy(second, false)
	for _, b := range bs {
		got, err := second.Get(t.Context(), owner, b.Digest(), 0)
		if err != nil || got.Digest() != b.Digest() {
			t.Fatalf("Get after restart = %v, %v", got, err)
		}
	}
	if got := fetches.calls.Load(); got != 1 {
		t.Errorf("%d fetches after restart, want 1 (the torn bundle)", got)
	}
	if _, err := os.Stat(filepath.Join(dir, tmpPrefix+"123")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover temp file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "README")); err != nil {
		t.Errorf("removed a file that is not the cache's: %v", err)
	}
}

func TestCacheRestartTrimsToNewBudget(t *testing.T) {
	store, bs := storeWith(t, 2000, 2000, 2000)
	dir := t.TempDir()
	first, err := NewCache(store, dir, 1<<20)
	must(t, err)
	for _, b := range bs {
		if _, err := first.Get(t.Context(), owner, b.Digest(), 0); err != nil {
			t.Fatal(err)
		}
	}
	// Order by use, oldest first, whatever the clock's resolution.
	for i, b := range bs {
		when := time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)
		must(t, os.Chtimes(first.path(b.Digest()), when, when))
	}
	max := bs[1].Size() + bs[2].Size()
	if _, err := NewCache(store, dir, max); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(first.path(bs[0].Digest())); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the oldest bundle survived a smaller budget: %v", err)
	}
	if n := diskBytes(t, dir); n > max {
		t.Errorf("%d bytes on disk, over %d", n, max)
	}
}

func TestCacheDamagedFileIsFetchedAgain(t *testing.T) {
	store, bs := storeWith(t, 2000)
	b := bs[0]
	c, err := NewCache(store, t.TempDir(), 1<<20)
	must(t, err)
	fetches := spy(c, false)
	if _, err := c.Get(t.Context(), owner, b.Digest(), 0); err != nil {
		t.Fatal(err)
	}
	damaged := append([]byte(nil), b.data...)
	damaged[len(damaged)/2] ^= 0xff
	must(t, os.WriteFile(c.path(b.Digest()), damaged, 0o600))

	got, err := c.Get(t.Context(), owner, b.Digest(), 0)
	if err != nil || got.Digest() != b.Digest() {
		t.Fatalf("Get = %v, %v", got, err)
	}
	if n := fetches.calls.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
	if data, err := os.ReadFile(c.path(b.Digest())); err != nil || digestOf(data) != b.Digest() {
		t.Errorf("the damaged file was not replaced: %v", err)
	}
}

func TestCacheErrors(t *testing.T) {
	store, _ := storeWith(t)
	c, err := NewCache(store, t.TempDir(), 1<<20)
	must(t, err)
	absent := packTree(t, map[string]file{"run": {body: "never uploaded"}}).Digest()
	cases := []struct {
		name   string
		digest string
		want   error
	}{
		{"absent", absent, ErrNotFound},
		{"malformed", "sha256:../../etc/passwd", ErrInvalidDigest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.Get(t.Context(), owner, tc.digest, 0); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := NewCache(nil, t.TempDir(), 0); err == nil {
		t.Error("NewCache accepted a nil store")
	}
	if _, err := NewCache(store, t.TempDir(), -1); err == nil {
		t.Error("NewCache accepted a negative budget")
	}
}

// TestCacheConcurrentMix runs Gets of several digests at once under a
// budget that forces evictions, for the race detector.
func TestCacheConcurrentMix(t *testing.T) {
	store, bs := storeWith(t, 1500, 1500, 1500, 1500, 1500)
	dir := t.TempDir()
	max := 2*bs[0].Size() + 100
	c, err := NewCache(store, dir, max)
	must(t, err)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			b := bs[i%len(bs)]
			got, err := c.Get(t.Context(), owner, b.Digest(), 0)
			if err != nil || got.Digest() != b.Digest() {
				t.Errorf("Get = %v, %v", got, err)
			}
		})
	}
	wg.Wait()
	if n := diskBytes(t, dir); n > max {
		t.Errorf("%d bytes on disk, over %d", n, max)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.total != diskBytes(t, dir) {
		t.Errorf("the index counts %d bytes, the disk holds %d", c.total, diskBytes(t, dir))
	}
}

// A bundle is kept per client: one client's job never gets a bundle from
// the cache that another client uploaded, even when it knows the digest.
func TestCacheKeepsOwnersApart(t *testing.T) {
	srv := newStoreServer(t)
	ctx := t.Context()
	b := packTree(t, sampleTask())
	if _, err := srv.open(t, natsauth.RoleFrontend, owner).Put(ctx, owner, b); err != nil {
		t.Fatal(err)
	}
	c, err := NewCache(srv.open(t, natsauth.RoleAgent, "a1"), t.TempDir(), 1<<20)
	must(t, err)
	fetches := spy(c, false)
	if _, err := c.Get(ctx, owner, b.Digest(), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "course2", b.Digest(), 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("course2's Get of course1's cached bundle = %v, want ErrNotFound", err)
	}
	// Once course2 uploads the same folder, its jobs get it: fetched from
	// its own space, kept beside course1's.
	if _, err := srv.open(t, natsauth.RoleFrontend, "course2").Put(ctx, "course2", b); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"course2", owner, "course2"} {
		if got, err := c.Get(ctx, who, b.Digest(), 0); err != nil || got.Digest() != b.Digest() {
			t.Fatalf("Get as %s = %v, %v", who, got, err)
		}
	}
	if n := fetches.calls.Load(); n != 3 {
		t.Errorf("%d fetches, want 3 (course1, course2 refused, course2)", n)
	}
	if _, err := c.Get(ctx, "course.2", b.Digest(), 0); err == nil {
		t.Error("Get accepted an owner that is no client id")
	}
}

// The files of the layout before owners are removed when a cache opens;
// files that are not bundles are left alone.
func TestCacheDropsFilesWithoutOwner(t *testing.T) {
	store, bs := storeWith(t, 1000)
	dir := t.TempDir()
	old := filepath.Join(dir, objectName(bs[0].Digest()))
	foreign := filepath.Join(dir, "notes.txt")
	must(t, os.WriteFile(old, bs[0].data, 0o600))
	must(t, os.WriteFile(foreign, []byte("mine"), 0o600))
	c, err := NewCache(store, dir, 1<<20)
	must(t, err)
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the file without owner is still there: %v", err)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("a file that is no bundle was removed: %v", err)
	}
	if c.total != 0 {
		t.Errorf("the cache counts %d bytes", c.total)
	}
}
