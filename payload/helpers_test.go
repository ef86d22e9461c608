package payload

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

var testBuildTime = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// testImage is an image to put in a test payload.
type testImage struct {
	ref, component string
	img            v1.Image
}

// testFile is an installer file to put in a test payload.
type testFile struct {
	name string
	mode os.FileMode
	data string
}

var testFiles = []testFile{
	{"installer/install.sh", 0o755, "#!/bin/bash\necho install\n"},
	{"installer/prepare", 0o755, "#!/bin/bash\necho prepare\n"},
	{"installer/harbor.yml.tmpl", 0o644, "hostname: reg.mydomain.com\n"},
	{"installer/LICENSE", 0o644, ""}, // a 0-byte file
	{"installer/common/templates/x.conf", 0o600, "nested"},
}

// tarLayer builds a gzip layer whose tar holds the given files (none: an empty layer).
func tarLayer(t testing.TB, files map[string]string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range sortedKeys(files) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[name]))
	}
	tw.Close()
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

// craftedImage stacks layers on an empty linux/amd64 image.
func craftedImage(t testing.TB, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func randomImage(t testing.TB, size, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(size, layers)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// testImages returns random images plus crafted ones that share a base layer and hold an empty
// layer and a 0-byte file.
func testImages(t testing.TB) []testImage {
	base := tarLayer(t, map[string]string{"etc/os-release": "NAME=Photon\n", "bin/sh": "#!sh"})
	emptyLayer := tarLayer(t, nil)
	zeroFile := tarLayer(t, map[string]string{"var/empty-file": ""})
	return []testImage{
		{"goharbor/harbor-core:v1.10.0", "core", craftedImage(t, base, tarLayer(t, map[string]string{"core": "core binary"}), emptyLayer)},
		{"goharbor/harbor-db:v1.10.0", "core", craftedImage(t, base, zeroFile, tarLayer(t, map[string]string{"db": "postgres"}))},
		{"goharbor/notary-server-photon:v0.6.1-v1.10.0", "notary", randomImage(t, 2048, 2)},
		{"goharbor/harbor-migrator:v1.10.0", "migrator", randomImage(t, 1024, 1)},
	}
}

// writePayload builds a payload in memory.
func writePayload(t testing.TB, opts WriterOptions, images []testImage, files []testFile) ([]byte, Summary) {
	t.Helper()
	var buf bytes.Buffer
	if opts.BuildTime.IsZero() {
		opts.BuildTime = testBuildTime
	}
	if opts.SpoolDir == "" {
		opts.SpoolDir = t.TempDir()
	}
	w := NewWriter(&buf, opts)
	for _, f := range files {
		if err := w.AddFile(f.name, f.mode, int64(len(f.data)), bytes.NewReader([]byte(f.data))); err != nil {
			t.Fatal(err)
		}
	}
	for _, im := range images {
		if err := w.AddImage(im.ref, im.component, im.img); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := w.Close(testManifest())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Length != int64(buf.Len()) {
		t.Fatalf("summary says %d bytes, wrote %d", sum.Length, buf.Len())
	}
	return buf.Bytes(), sum
}

func testManifest() Manifest {
	return Manifest{
		Release:      "v1.10.0",
		FromVersions: []string{"v1.8.6", "v1.9.4"},
		Components:   []string{"core", "notary"},
		Migration:    Migration{Method: "harbor-migrator", Image: "goharbor/harbor-migrator:v1.10.0", Args: []string{"--cfg", "up"}},
		InstallFlags: []string{"--with-notary"},
		Builder:      Builder{Version: "test"},
		Installer:    Installer{Source: "test", SHA256: "00"},
	}
}

func openPayload(t testing.TB, b []byte, sum Summary) *Reader {
	t.Helper()
	r, err := Open(bytes.NewReader(b), int64(len(b)), sum.ManifestOffset, sum.ManifestLength, sum.ManifestSHA256)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// openRaw opens arbitrary payload bytes whose last tar entry is manifest.yaml, trusting that
// manifest as a valid trailer would: it is how hostile payloads are fed to the reader.
func openRaw(b []byte) (*Reader, error) {
	off, n, ok := findManifest(b)
	if !ok {
		return nil, io.ErrUnexpectedEOF
	}
	return Open(bytes.NewReader(b), int64(len(b)), off, n, sha256.Sum256(b[off:off+n]))
}

// findManifest locates the data of the last manifest.yaml entry of a tar.
func findManifest(b []byte) (off, n int64, ok bool) {
	cr := &countingReader{r: bytes.NewReader(b), rep: nopReporter{}, ctx: bg}
	tr := tar.NewReader(cr)
	for {
		hdr, err := tr.Next()
		if err != nil {
			return off, n, ok
		}
		if hdr.Name == ManifestName && hdr.Size <= MaxManifestSize && cr.n+hdr.Size <= int64(len(b)) {
			off, n, ok = cr.n, hdr.Size, true
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return off, n, ok
		}
	}
}

type nopReporter struct{}

func (nopReporter) Start(string, int64) {}
func (nopReporter) Add(string, int64)   {}
func (nopReporter) Done(string, error)  {}

// listDir returns every path under dir, relative, for checking what extraction left behind.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

var bg = context.Background()

func readAllBytes(r interface{ Read([]byte) (int, error) }) ([]byte, error) {
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
