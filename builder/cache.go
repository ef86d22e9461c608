package builder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// Cache is a content-addressed store of blobs on disk (DIR/blobs/sha256/<hex>), safe for
// concurrent use by one build and for several builds sharing the directory.
//
// A blob enters the cache only through a temp file whose digest and size were checked before
// it was renamed into place, and Close syncs the file system once. A blob under its final name
// can still be damaged (a power cut before that sync, or something outside), which is why a
// blob already on disk is re-hashed once per Cache before it is used.
type Cache struct {
	dir      string
	tmp      string // this Cache's private temp dir, locked while open
	lock     *os.File
	attempts int
	delay    time.Duration

	flight   flight
	mu       sync.Mutex
	verified map[v1.Hash]bool

	fetched, reused, corrupt, compressed atomic.Int64
	bytesFetched                         atomic.Int64
}

// CacheStats counts what a build did with the cache.
type CacheStats struct {
	BlobsFetched int64 `json:"blobsFetched"` // downloaded (or computed) now
	BlobsReused  int64 `json:"blobsReused"`  // found in the cache with the right digest
	BlobsCorrupt int64 `json:"blobsCorrupt"` // found damaged in the cache, replaced
	Recompressed int64 `json:"recompressed"` // layers recompressed to zstd now (not found in the cache)
	BytesFetched int64 `json:"bytesFetched"`
}

// FetchFunc opens the content of a blob for the cache to store.
type FetchFunc func(ctx context.Context) (io.ReadCloser, error)

// OpenCache opens (creating it if needed) the cache at dir. attempts and delay govern retries
// of a download that fails midway (network drop): attempt n waits delay*2^(n-1).
func OpenCache(dir string, attempts int, delay time.Duration) (*Cache, error) {
	if attempts < 1 {
		attempts = 1
	}
	for _, d := range []string{"blobs/sha256", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("creating cache %s: %w", dir, err)
		}
	}
	sweepTemp(filepath.Join(dir, "tmp"))
	tmp, lock, err := lockedTempDir(filepath.Join(dir, "tmp"))
	if err != nil {
		return nil, fmt.Errorf("creating cache temp dir in %s: %w", dir, err)
	}
	return &Cache{dir: dir, tmp: tmp, lock: lock, attempts: attempts, delay: delay, verified: map[v1.Hash]bool{}}, nil
}

// Close removes this Cache's temp files and makes what this session wrote durable, with one
// sync of the cache's file system rather than an fsync per blob.
func (c *Cache) Close() error {
	err := syncFS(c.dir)
	os.RemoveAll(c.tmp)
	os.Remove(c.lock.Name())
	c.lock.Close()
	return err
}

// Sync makes the blobs and records written so far durable (one syncfs of the cache's file
// system); Build calls it before the .run is renamed into place.
func (c *Cache) Sync() error { return syncFS(c.dir) }

// Stats returns the counters so far.
func (c *Cache) Stats() CacheStats {
	return CacheStats{BlobsFetched: c.fetched.Load(), BlobsReused: c.reused.Load(), BlobsCorrupt: c.corrupt.Load(), Recompressed: c.compressed.Load(), BytesFetched: c.bytesFetched.Load()}
}

// Path is where blob h lives (whether or not it is there).
func (c *Cache) Path(h v1.Hash) string { return filepath.Join(c.dir, "blobs", h.Algorithm, h.Hex) }

// TempDir is private scratch space removed by Close.
func (c *Cache) TempDir() string { return c.tmp }

// Ensure makes blob h (of size bytes, or -1 when unknown) present and checked in the cache,
// calling fetch only when it is absent or damaged. Concurrent calls for the same digest share
// one download. count receives progress in bytes: streamed while this call downloads, the
// whole size at once when the blob was already there or another call fetched it.
func (c *Cache) Ensure(ctx context.Context, h v1.Hash, size int64, fetch FetchFunc, count func(int64)) error {
	_, err := c.ensureBlob(ctx, h, size, fetch, count, false)
	return err
}

// EnsureLayer is Ensure for a layer blob that also learns the layer's uncompressed size and
// sha256 (its diff ID) from the same pass over its bytes that checks its digest (the download,
// or the check of a blob already cached), and remembers them beside the blob, so that nothing
// decompresses the layer again just to measure it. The result is nil when the blob is not a
// gzip, zstd or plain tar that decompresses cleanly: then whoever needs the size measures it.
func (c *Cache) EnsureLayer(ctx context.Context, h v1.Hash, size int64, fetch FetchFunc, count func(int64)) (*Uncompressed, error) {
	return c.ensureBlob(ctx, h, size, fetch, count, true)
}

func (c *Cache) ensureBlob(ctx context.Context, h v1.Hash, size int64, fetch FetchFunc, count func(int64), measure bool) (*Uncompressed, error) {
	if c.isVerified(h) {
		count(size)
		return c.uncompressed(h, measure), nil
	}
	var u *Uncompressed
	leader, err := c.flight.do(ctx, "blob "+h.String(), func() error {
		var err error
		u, err = c.ensure(ctx, h, size, fetch, count, measure)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !leader {
		count(size)
		u = c.uncompressed(h, measure)
	}
	return u, nil
}

// Uncompressed is what a layer blob holds once decompressed: the tar's size and sha256.
type Uncompressed struct {
	DiffID v1.Hash `json:"diffID"`
	Size   int64   `json:"size"`
}

func (c *Cache) uncompressedPath(h v1.Hash) string {
	return filepath.Join(c.dir, "uncompressed", h.Hex+".json")
}

// uncompressed reads what was measured of layer blob h, nil if nothing (or not asked).
func (c *Cache) uncompressed(h v1.Hash, measure bool) *Uncompressed {
	if !measure {
		return nil
	}
	body, err := os.ReadFile(c.uncompressedPath(h))
	if err != nil {
		return nil
	}
	var u Uncompressed
	if json.Unmarshal(body, &u) != nil || u.Size < 0 || u.DiffID.Algorithm != "sha256" {
		return nil
	}
	return &u
}

// remember records what was measured of blob h. A record that cannot be written only costs a
// measurement later, so failing to write one fails nothing.
func (c *Cache) remember(h v1.Hash, u *Uncompressed) {
	if u == nil {
		return
	}
	body, _ := json.Marshal(u)
	writeUnsynced(c.tmp, c.uncompressedPath(h), body)
}

func (c *Cache) isVerified(h v1.Hash) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.verified[h]
}

func (c *Cache) markVerified(h v1.Hash) {
	c.mu.Lock()
	c.verified[h] = true
	c.mu.Unlock()
}

func (c *Cache) ensure(ctx context.Context, h v1.Hash, size int64, fetch FetchFunc, count func(int64), measure bool) (*Uncompressed, error) {
	if c.isVerified(h) { // another call finished it between our check and our turn
		count(size)
		return c.uncompressed(h, measure), nil
	}
	known := c.uncompressed(h, measure)
	switch ok, u, err := checkFile(c.Path(h), h, size, measure && known == nil); {
	case ok:
		c.markVerified(h)
		c.reused.Add(1)
		count(size)
		if known == nil {
			c.remember(h, u)
			known = u
		}
		return known, nil
	case err == nil: // present but damaged
		c.corrupt.Add(1)
		if err := os.Remove(c.Path(h)); err != nil {
			return nil, fmt.Errorf("removing damaged cache blob %s: %w", c.Path(h), err)
		}
	}
	var err error
	for attempt := 1; attempt <= c.attempts; attempt++ {
		var n int64
		var u *Uncompressed
		n, u, err = c.store(ctx, h, size, fetch, count, measure)
		if err == nil {
			c.markVerified(h)
			c.fetched.Add(1)
			c.bytesFetched.Add(n)
			c.remember(h, u)
			return u, nil
		}
		count(-n)
		if ctx.Err() != nil || !retryable(err) || attempt == c.attempts {
			break
		}
		if err := sleep(ctx, c.delay<<(attempt-1)); err != nil {
			return nil, err
		}
	}
	return nil, err
}

// store streams one blob into a temp file, checks it and renames it into place; with measure,
// the same pass decompresses it to measure the layer. It does not fsync: a blob under its final
// name is re-hashed before a later Cache uses it, and Close syncs the file system once.
func (c *Cache) store(ctx context.Context, h v1.Hash, size int64, fetch FetchFunc, count func(int64), measure bool) (int64, *Uncompressed, error) {
	rc, err := fetch(ctx)
	if err != nil {
		return 0, nil, err
	}
	defer rc.Close()
	f, err := os.CreateTemp(c.tmp, h.Hex+"-*")
	if err != nil {
		return 0, nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cw := &countingWriter{count: count}
	_, verified := rc.(verifiedBody)
	s := digestStream(rc, io.MultiWriter(f, cw), measure, verified)
	if err := s.read.err; err != nil {
		return s.n, nil, &transferError{err}
	}
	if err := s.write.err; err != nil {
		return s.n, nil, err
	}
	if size >= 0 && s.n != size {
		return s.n, nil, &transferError{fmt.Errorf("blob %s: got %d bytes, want %d", h, s.n, size)}
	}
	if !verified && s.hex != h.Hex {
		return s.n, nil, &transferError{fmt.Errorf("blob %s: received content has digest sha256:%s", h, s.hex)}
	}
	if err := f.Close(); err != nil {
		return s.n, nil, err
	}
	return s.n, s.uncompressed, os.Rename(f.Name(), c.Path(h))
}

// checkFile reports whether path holds exactly the blob h, measuring its uncompressed content
// in the same pass when asked. A missing file is (false, nil, error); a damaged one is
// (false, nil, nil).
func checkFile(path string, h v1.Hash, size int64, measure bool) (bool, *Uncompressed, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || (size >= 0 && st.Size() != size) {
		return false, nil, err
	}
	s := digestStream(f, io.Discard, measure, false)
	if s.read.err != nil || s.hex != h.Hex {
		return false, nil, nil
	}
	return true, s.uncompressed, nil
}

// transferError marks a failure while receiving a blob's bytes: worth another attempt.
type transferError struct{ err error }

func (e *transferError) Error() string { return e.err.Error() }
func (e *transferError) Unwrap() error { return e.err }

func retryable(err error) bool {
	var te *transferError
	return errors.As(err, &te)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

type countingWriter struct{ count func(int64) }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.count(int64(len(p)))
	return len(p), nil
}

// syncFS makes everything written to the file system holding dir durable (syncfs(2)): one call
// for all the blobs and records of a build.
func syncFS(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// writeUnsynced writes a small record through a temp file and a rename, so readers see it
// whole or not at all; Close's syncFS makes it durable. tmpDir is on the same file system.
func writeUnsynced(tmpDir, path string, body []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(tmpDir, "record-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(body); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
