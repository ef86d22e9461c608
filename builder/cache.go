package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Cache is a content-addressed store of blobs on disk (DIR/blobs/sha256/<hex>), safe for
// concurrent use by one build and for several builds sharing the directory.
//
// A blob enters the cache only through a temp file whose digest and size were checked and
// which was fsynced before being renamed into place, so a blob under its final name is whole
// unless something outside damaged it later; that is why a blob already on disk is re-hashed
// once per Cache before it is used.
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

// Close removes this Cache's temp files and makes the renames of this session durable.
func (c *Cache) Close() error {
	err := syncDir(filepath.Join(c.dir, "blobs", "sha256"))
	os.RemoveAll(c.tmp)
	os.Remove(c.lock.Name())
	c.lock.Close()
	return err
}

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
	if c.isVerified(h) {
		count(size)
		return nil
	}
	leader, err := c.flight.do(ctx, "blob "+h.String(), func() error {
		return c.ensure(ctx, h, size, fetch, count)
	})
	if err == nil && !leader {
		count(size)
	}
	return err
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

func (c *Cache) ensure(ctx context.Context, h v1.Hash, size int64, fetch FetchFunc, count func(int64)) error {
	if c.isVerified(h) { // another call finished it between our check and our turn
		count(size)
		return nil
	}
	switch ok, err := checkFile(c.Path(h), h, size); {
	case ok:
		c.markVerified(h)
		c.reused.Add(1)
		count(size)
		return nil
	case err == nil: // present but damaged
		c.corrupt.Add(1)
		if err := os.Remove(c.Path(h)); err != nil {
			return fmt.Errorf("removing damaged cache blob %s: %w", c.Path(h), err)
		}
	}
	var err error
	for attempt := 1; attempt <= c.attempts; attempt++ {
		var n int64
		n, err = c.store(ctx, h, size, fetch, count)
		if err == nil {
			c.markVerified(h)
			c.fetched.Add(1)
			c.bytesFetched.Add(n)
			return nil
		}
		count(-n)
		if ctx.Err() != nil || !retryable(err) || attempt == c.attempts {
			break
		}
		if err := sleep(ctx, c.delay<<(attempt-1)); err != nil {
			return err
		}
	}
	return err
}

// store streams one blob into a temp file, checks it, syncs it and renames it into place.
func (c *Cache) store(ctx context.Context, h v1.Hash, size int64, fetch FetchFunc, count func(int64)) (int64, error) {
	rc, err := fetch(ctx)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	f, err := os.CreateTemp(c.tmp, h.Hex+"-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	hash := sha256.New()
	cw := &countingWriter{count: count}
	n, err := io.CopyBuffer(io.MultiWriter(f, hash, cw), rc, make([]byte, 1<<20))
	if err != nil {
		return n, &transferError{err}
	}
	if size >= 0 && n != size {
		return n, &transferError{fmt.Errorf("blob %s: got %d bytes, want %d", h, n, size)}
	}
	if got := hex.EncodeToString(hash.Sum(nil)); got != h.Hex {
		return n, &transferError{fmt.Errorf("blob %s: received content has digest sha256:%s", h, got)}
	}
	if err := f.Sync(); err != nil {
		return n, err
	}
	if err := f.Close(); err != nil {
		return n, err
	}
	return n, os.Rename(f.Name(), c.Path(h))
}

// checkFile reports whether path holds exactly the blob h. A missing file is (false, error);
// a damaged one is (false, nil).
func checkFile(path string, h v1.Hash, size int64) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || (size >= 0 && st.Size() != size) {
		return false, err
	}
	hash := sha256.New()
	if _, err := io.CopyBuffer(hash, f, make([]byte, 1<<20)); err != nil {
		return false, nil
	}
	return hex.EncodeToString(hash.Sum(nil)) == h.Hex, nil
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

// syncDir makes renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
