package builder

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestRetries: 503 answers and a connection dropped midway are retried; a blob that keeps
// failing stops the build with an error naming the image, and no output is left.
func TestRetries(t *testing.T) {
	srv := fakeHarbor(t)
	proxy := startProxy(t, "http://"+srv.RegistryAddr)
	core := "goharbor/harbor-core:v1.10.0"
	config, layer := blobsOf(t, proxy.Addr+"/"+core)

	proxy.FailNext(config.String(), 2)
	proxy.CutNext(layer.String(), 1)
	opts := testOptions(t, srv, proxy, t.TempDir())
	if _, err := Build(context.Background(), opts); err != nil {
		t.Fatalf("build with transient failures: %v", err)
	}
	started, _ := proxy.Snapshot()
	if started[config.String()] != 3 || started[layer.String()] != 2 {
		t.Errorf("config fetched %d times (want 3: two 503), layer %d times (want 2: one cut)", started[config.String()], started[layer.String()])
	}

	proxy.FailNext(config.String(), 1000)
	opts = testOptions(t, srv, proxy, t.TempDir())
	_, err := Build(context.Background(), opts)
	var pe *PullError
	if !errors.As(err, &pe) || pe.Ref != core || !strings.Contains(err.Error(), core) {
		t.Fatalf("error %v: want a PullError naming %s", err, core)
	}
	if entries := listTree(t, filepath.Dir(opts.Output)); len(entries) != 1 {
		t.Errorf("failed build left %v", entries)
	}
}

// blobsOf returns the config digest and the last layer digest of an image.
func blobsOf(t *testing.T, ref string) (config, layer v1.Hash) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m.Config.Digest, m.Layers[len(m.Layers)-1].Digest
}

// TestCorruptBlob: a registry serving other bytes than the digest names (same length) is caught
// though the cache no longer hashes downloads itself (go-containerregistry's reader does): the
// download is retried, and when it keeps happening the build stops with an error naming the
// image, and the bad bytes never enter the cache.
func TestCorruptBlob(t *testing.T) {
	srv := fakeHarbor(t)
	proxy := startProxy(t, "http://"+srv.RegistryAddr)
	core := "goharbor/harbor-core:v1.10.0"
	_, layer := blobsOf(t, proxy.Addr+"/"+core)

	proxy.CorruptNext(layer.String(), 1)
	cacheDir := t.TempDir()
	if _, err := Build(context.Background(), testOptions(t, srv, proxy, cacheDir)); err != nil {
		t.Fatalf("build with one corrupt download: %v", err)
	}
	if started, _ := proxy.Snapshot(); started[layer.String()] != 2 {
		t.Errorf("layer fetched %d times, want 2 (one corrupt)", started[layer.String()])
	}
	cached := filepath.Join(cacheDir, "blobs", layer.Algorithm, layer.Hex)
	if got := fileDigest(t, cached); got != layer {
		t.Errorf("cached layer hashes to %s, want %s", got, layer)
	}

	proxy.CorruptNext(layer.String(), 1000)
	cacheDir = t.TempDir()
	opts := testOptions(t, srv, proxy, cacheDir)
	_, err := Build(context.Background(), opts)
	var pe *PullError
	if !errors.As(err, &pe) || pe.Ref != core || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("error %v: want a PullError naming %s and the checksum", err, core)
	}
	if _, err := os.Stat(filepath.Join(cacheDir, "blobs", layer.Algorithm, layer.Hex)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the corrupt layer is in the cache (stat: %v)", err)
	}
	if entries := listTree(t, filepath.Dir(opts.Output)); len(entries) != 1 {
		t.Errorf("failed build left %v", entries)
	}
}

func fileDigest(t *testing.T, path string) v1.Hash {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, _, err := v1.SHA256(f)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
