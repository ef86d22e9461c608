package payload

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTamper flips one byte in each kind of region and expects Verify and Extract to refuse the
// payload with an *IntegrityError naming the entry, leaving nothing extracted behind.
func TestTamper(t *testing.T) {
	orig, sum := writePayload(t, WriterOptions{Compression: "keep"}, testImages(t), testFiles)
	m := openPayload(t, orig, sum).Manifest()
	layer := m.Images[0].Layers[0]
	layerEntry, _ := m.entry(blobPath(layer.Digest))
	script, _ := m.entry("installer/install.sh")
	config, _ := m.entry(blobPath(m.Images[1].ConfigDigest))
	cases := []struct {
		name   string
		offset int64
		path   string
	}{
		{"layer blob", layerEntry.Offset + layerEntry.Size/2, layerEntry.Path},
		{"installer file", script.Offset, script.Path},
		{"config blob last byte", config.Offset + config.Size - 1, config.Path},
		{"tar header name", script.Offset - 512 + 3, script.Path},
		{"tar header mtime", layerEntry.Offset - 512 + 140, layerEntry.Path},
		{"tar header size", layerEntry.Offset - 512 + 124 + 5, layerEntry.Path},
		{"tar padding", script.Offset + script.Size + 3, script.Path},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := append([]byte(nil), orig...)
			b[c.offset] ^= 0x40
			r := openPayload(t, b, sum)
			expectIntegrity(t, r.Verify(bg, nil), c.path)
			parent := t.TempDir()
			expectIntegrity(t, r.Extract(bg, filepath.Join(parent, "new"), nil), c.path)
			if left := listDir(t, parent); len(left) != 0 {
				t.Errorf("extract into a new dir left %v", left)
			}
			existing := filepath.Join(parent, "existing")
			os.Mkdir(existing, 0o755)
			expectIntegrity(t, r.Extract(bg, existing, nil), c.path)
			if left := listDir(t, existing); len(left) != 0 {
				t.Errorf("extract into an existing dir left %v", left)
			}
		})
	}
	t.Run("manifest", func(t *testing.T) {
		b := append([]byte(nil), orig...)
		b[sum.ManifestOffset+10] ^= 0x01
		_, err := Open(strings.NewReader(string(b)), int64(len(b)), sum.ManifestOffset, sum.ManifestLength, sum.ManifestSHA256)
		expectIntegrity(t, err, ManifestName)
	})
	t.Run("trailing garbage", func(t *testing.T) {
		b := append(append([]byte(nil), orig...), make([]byte, 1024)...)
		b[len(b)-7] = 'x'
		expectIntegrity(t, openPayload(t, b, sum).Verify(bg, nil), ManifestName)
	})
	t.Run("truncated", func(t *testing.T) {
		b := orig[:layerEntry.Offset+10]
		_, err := Open(strings.NewReader(string(b)), int64(len(b)), sum.ManifestOffset, sum.ManifestLength, sum.ManifestSHA256)
		expectIntegrity(t, err, ManifestName)
	})
}

func expectIntegrity(t *testing.T, err error, path string) {
	t.Helper()
	var ie *IntegrityError
	if !errors.As(err, &ie) {
		t.Fatalf("got %v, want an *IntegrityError for %s", err, path)
	}
	if ie.Path != path || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q names %s, want %s", err, ie.Path, path)
	}
}

// TestOpenEntryTampered proves random access checks hashes too: reading a damaged blob to its
// end fails, as does DockerArchive, on the gzip pass-through path and the zstd one.
func TestOpenEntryTampered(t *testing.T) {
	for _, compression := range []string{"keep", "zstd"} {
		t.Run(compression, func(t *testing.T) {
			orig, sum := writePayload(t, WriterOptions{Compression: compression}, testImages(t), testFiles)
			m := openPayload(t, orig, sum).Manifest()
			layer, _ := m.entry(blobPath(m.Images[0].Layers[1].Digest))
			b := append([]byte(nil), orig...)
			b[layer.Offset+layer.Size-2] ^= 0x01
			r := openPayload(t, b, sum)
			rc, err := r.OpenEntry(layer.Path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = readAllBytes(rc)
			expectIntegrity(t, err, layer.Path)
			expectIntegrity(t, r.DockerArchive(bg, discard{}, []string{m.Images[0].Ref}), layer.Path)
		})
	}
}

// TestCancel proves a cancelled context stops Verify with the context's error, not an integrity
// error, and Extract leaves nothing.
func TestCancel(t *testing.T) {
	b, sum := writePayload(t, WriterOptions{Compression: "keep"}, testImages(t), testFiles)
	r := openPayload(t, b, sum)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if err := r.Verify(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify: %v, want context.Canceled", err)
	}
	dir := filepath.Join(t.TempDir(), "x")
	if err := r.Extract(ctx, dir, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Extract: %v, want context.Canceled", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Extract left %s: %v", dir, err)
	}
}

// TestTruncatedPayload: a payload file shorter than the trailer says (a partial copy) fails
// Verify with an error naming the entry it ends in.
func TestTruncatedPayload(t *testing.T) {
	orig, sum := writePayload(t, WriterOptions{Compression: "keep"}, testImages(t), testFiles)
	m := openPayload(t, orig, sum).Manifest()
	layer, _ := m.entry(blobPath(m.Images[0].Layers[0].Digest))
	// The manifest still reads (as if from the trailer's copy), but the bytes before it stop short.
	short := &truncatedAt{ReaderAt: strings.NewReader(string(orig)), end: layer.Offset + 10, keepFrom: sum.ManifestOffset}
	r, err := Open(short, int64(len(orig)), sum.ManifestOffset, sum.ManifestLength, sum.ManifestSHA256)
	if err != nil {
		t.Fatal(err)
	}
	expectIntegrity(t, r.Verify(bg, nil), layer.Path)
}

// truncatedAt reads as EOF from end on, except the range from keepFrom.
type truncatedAt struct {
	io.ReaderAt
	end, keepFrom int64
}

func (tr *truncatedAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= tr.keepFrom {
		return tr.ReaderAt.ReadAt(p, off)
	}
	if off >= tr.end {
		return 0, io.EOF
	}
	if off+int64(len(p)) > tr.end {
		n, _ := tr.ReaderAt.ReadAt(p[:tr.end-off], off)
		return n, io.EOF
	}
	return tr.ReaderAt.ReadAt(p, off)
}
