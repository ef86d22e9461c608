package builder

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestWarmRebuildAndDamagedCache: a shared blob is fetched once; a warm rebuild fetches and
// recompresses nothing and gives the same bytes; a damaged cached blob is detected and fetched
// again, a damaged recompressed one is recompressed, and the output is still the same.
func TestWarmRebuildAndDamagedCache(t *testing.T) {
	srv := fakeHarbor(t)
	proxy := startProxy(t, "http://"+srv.RegistryAddr)
	cache := t.TempDir()
	opts := testOptions(t, srv, proxy, cache)
	first, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	fetched, _ := proxy.Snapshot()
	for d, n := range fetched {
		if n != 1 {
			t.Errorf("blob %s fetched %d times in one build", d, n)
		}
	}
	if int64(len(fetched)) != first.Cache.BlobsFetched || first.Cache.Recompressed == 0 {
		t.Errorf("cold build: registry served %d blobs, stats %+v", len(fetched), first.Cache)
	}
	want := fileSHA(t, first.File)

	rebuild := func(name string) *Result {
		t.Helper()
		o := opts
		o.Output = filepath.Join(t.TempDir(), name)
		res, err := Build(context.Background(), o)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := fileSHA(t, res.File); want != "" && got != want {
			t.Errorf("%s: sha256 %s, first build %s", name, got, want)
		}
		return res
	}

	warm := rebuild("warm.run")
	if started, _ := proxy.Snapshot(); len(started) != 0 || warm.Cache.BlobsFetched != 0 || warm.Cache.Recompressed != 0 {
		t.Errorf("warm rebuild fetched %v, stats %+v", started, warm.Cache)
	}

	// A damaged recompressed blob is recompressed from its pulled layer, nothing is fetched.
	var zstdBlob string
	entries, _ := os.ReadDir(filepath.Join(cache, "blobs", "sha256"))
	for _, e := range entries {
		if _, ok := fetched["sha256:"+e.Name()]; !ok {
			zstdBlob = e.Name()
			break
		}
	}
	if zstdBlob == "" {
		t.Fatal("no recompressed blob in the cache")
	}
	flipByte(t, filepath.Join(cache, "blobs", "sha256", zstdBlob))
	damaged := rebuild("damaged-zstd.run")
	if started, _ := proxy.Snapshot(); len(started) != 0 || damaged.Cache.BlobsCorrupt != 1 || damaged.Cache.Recompressed != 1 {
		t.Errorf("after damaging a recompressed blob: fetched %v, stats %+v", started, damaged.Cache)
	}

	// A damaged pulled blob is fetched again when a build needs it (keep stores pulled blobs).
	opts.Compression, opts.Level, want = "keep", "", ""
	keep := rebuild("keep.run")
	want = fileSHA(t, keep.File)
	var pulled, largest string
	var size int64
	for d := range fetched {
		if fi, err := os.Stat(filepath.Join(cache, "blobs", "sha256", d[len("sha256:"):])); err == nil && fi.Size() > size {
			pulled, largest, size = d, fi.Name(), fi.Size()
		}
	}
	flipByte(t, filepath.Join(cache, "blobs", "sha256", largest))
	damaged = rebuild("damaged-keep.run")
	started, _ := proxy.Snapshot()
	if len(started) != 1 || started[pulled] != 1 || damaged.Cache.BlobsCorrupt != 1 || damaged.Cache.BlobsFetched != 1 {
		t.Errorf("after damaging %s the rebuild fetched %v, stats %+v", pulled, started, damaged.Cache)
	}
}

func flipByte(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	fi, _ := f.Stat()
	off := fi.Size() / 2
	f.ReadAt(b, off)
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}
