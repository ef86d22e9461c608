package builder

import (
	"context"
	"errors"
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
