package builder

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestEnsureShared: concurrent Ensure calls for one digest download it once; every caller
// gets its progress; a wrong download is refused and nothing lands in the cache.
func TestEnsureShared(t *testing.T) {
	c, err := OpenCache(t.TempDir(), 2, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := bytes.Repeat([]byte("layer"), 100000)
	h, size, _ := v1.SHA256(bytes.NewReader(data))
	var fetches atomic.Int32
	release := make(chan struct{})
	fetch := func(context.Context) (io.ReadCloser, error) {
		fetches.Add(1)
		<-release // hold the first download until every caller is waiting
		return io.NopCloser(bytes.NewReader(data)), nil
	}
	var wg sync.WaitGroup
	var counted atomic.Int64
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Ensure(context.Background(), h, size, fetch, func(n int64) { counted.Add(n) }); err != nil {
				t.Error(err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if fetches.Load() != 1 || counted.Load() != 10*size {
		t.Errorf("%d fetches, %d bytes counted; want 1 and %d", fetches.Load(), counted.Load(), 10*size)
	}
	if got, _ := os.ReadFile(c.Path(h)); !bytes.Equal(got, data) {
		t.Error("cached blob differs")
	}

	// A download whose content does not match its digest is retried, then refused.
	bad, badSize, _ := v1.SHA256(bytes.NewReader([]byte("expected")))
	fetches.Store(0)
	err = c.Ensure(context.Background(), bad, badSize, func(context.Context) (io.ReadCloser, error) {
		fetches.Add(1)
		return io.NopCloser(bytes.NewReader([]byte("tampered"))), nil
	}, func(int64) {})
	var te *transferError
	if !errors.As(err, &te) || fetches.Load() != 2 {
		t.Errorf("tampered blob: %v after %d fetches; want a transfer error after 2", err, fetches.Load())
	}
	if _, err := os.Stat(c.Path(bad)); err == nil {
		t.Error("tampered blob reached the cache")
	}
}

// TestSweepTemp: temp dirs of dead builds are removed, those of live ones kept.
func TestSweepTemp(t *testing.T) {
	dir := t.TempDir()
	live, err := OpenCache(dir, 1, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	dead, err := OpenCache(dir, 1, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(dead.TempDir()+"/partial", []byte("x"), 0o644)
	dead.lock.Close() // as if its process had died: the kernel drops the lock
	again, err := OpenCache(dir, 1, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if _, err := os.Stat(dead.TempDir()); err == nil {
		t.Error("dead build's temp dir kept")
	}
	if _, err := os.Stat(live.TempDir()); err != nil {
		t.Errorf("live build's temp dir removed: %v", err)
	}
}
