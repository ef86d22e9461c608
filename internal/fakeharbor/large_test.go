//go:build long

package fakeharbor

import (
	"io"
	"os"
	"testing"
	"time"
)

// TestLargeRelease builds the 1 GB release from scratch and reports the figures for the README:
// build time, image sizes, the compression ratio of the content, the offline installer.
// go test -tags long -run TestLargeRelease -v ./internal/fakeharbor/
func TestLargeRelease(t *testing.T) {
	opts := testOptions(t)
	opts.Size = SizeLarge
	if d := os.Getenv("BUNDLE_FAKEHARBOR_LARGE_DIR"); d != "" {
		opts.Dir = d // keep the result, e.g. for a benchmark run afterwards
	}
	b, err := NewBuilder(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	refs, err := b.Release("v1.10.0")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("large v1.10.0: images built in %v", time.Since(start))
	seen := map[string]bool{}
	var compressed, uncompressed int64
	for _, ref := range refs {
		size, _ := ImageSize(ref.Image)
		t.Logf("  %-62s %6.1f MB", ref.Ref, float64(size)/1e6)
		layers, _ := ref.Image.Layers()
		for _, l := range layers {
			d, _ := l.Digest()
			if seen[d.String()] {
				continue
			}
			seen[d.String()] = true
			n, _ := l.Size()
			compressed += n
			uncompressed += l.(*fileLayer).usize
		}
	}
	t.Logf("unique layers: %.1f MB uncompressed, %.1f MB gzip (%.2fx)", float64(uncompressed)/1e6, float64(compressed)/1e6, float64(uncompressed)/float64(compressed))
	start = time.Now()
	path, err := b.OfflineInstallerFile("v1.10.0")
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	t.Logf("offline installer: %.1f MB in %v", float64(fi.Size())/1e6, time.Since(start))
	start = time.Now()
	if err := b.DockerArchive("v1.10.0", io.Discard); err != nil {
		t.Fatal(err)
	}
	t.Logf("docker archive streamed in %v", time.Since(start))
}
