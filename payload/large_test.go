package payload

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
	"time"
)

// TestBeyond4GiB puts a 4 GiB + 1 MiB file first, so that every later entry (an installer file
// and an image's blobs) starts beyond 4 GiB, and reads them back by offset, through Verify, Image
// and DockerArchive. The payload lives in a sparse in-memory buffer: the zeros take no space.
// It hashes 8 GiB of zeros (about 5 s on an idle core).
func TestBeyond4GiB(t *testing.T) {
	start := time.Now()
	sw := &sparseBuffer{}
	w := NewWriter(sw, WriterOptions{Compression: "keep", BuildTime: testBuildTime})
	const big = 4<<30 + 1<<20
	if err := w.AddFile("installer/big", 0o644, big, zeros{}); err != nil {
		t.Fatal(err)
	}
	if err := w.AddFile("installer/after", 0o755, 5, bytes.NewReader([]byte("after"))); err != nil {
		t.Fatal(err)
	}
	img := testImages(t)[0]
	if err := w.AddImage(img.ref, img.component, img.img); err != nil {
		t.Fatal(err)
	}
	sum, err := w.Close(testManifest())
	if err != nil {
		t.Fatal(err)
	}
	if sum.ManifestOffset <= 4<<30 || sum.Length != sw.n {
		t.Fatalf("manifest at %d, length %d, wrote %d", sum.ManifestOffset, sum.Length, sw.n)
	}
	r, err := Open(sw, sw.n, sum.ManifestOffset, sum.ManifestLength, sum.ManifestSHA256)
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := r.Manifest().entry("installer/after"); e.Offset <= 4<<30 {
		t.Fatalf("installer/after at offset %d, not beyond 4 GiB", e.Offset)
	}
	rc, _ := r.OpenEntry("installer/after")
	if got, err := io.ReadAll(rc); err != nil || string(got) != "after" {
		t.Fatalf("installer/after: %q, %v", got, err)
	}
	got, err := r.Image(img.ref)
	if err != nil {
		t.Fatal(err)
	}
	validateImage(t, img.ref, got)
	if err := r.DockerArchive(bg, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Verify(bg, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote and verified a %d-byte payload in %v", sw.n, time.Since(start))
}

// TestHeaderBeyond8GiB proves the header format the writer uses can state sizes that USTAR
// cannot (8 GiB and more), without writing them.
func TestHeaderBeyond8GiB(t *testing.T) {
	var buf bytes.Buffer
	const size = 9 << 30
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "images/blobs/sha256/x", Size: size, ModTime: testBuildTime, Format: tar.FormatPAX}); err != nil {
		t.Fatal(err)
	}
	hdr, err := tar.NewReader(&buf).Next()
	if err != nil || hdr.Size != size {
		t.Fatalf("header read back: %+v, %v", hdr, err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// sparseBuffer keeps what is written in memory except all-zero writes, which it only counts;
// reads return zeros wherever nothing was kept.
type sparseBuffer struct {
	n      int64
	chunks []sparseChunk // in offset order
}

type sparseChunk struct {
	off  int64
	data []byte
}

var zeroBlock = make([]byte, 1<<20)

func (s *sparseBuffer) Write(p []byte) (int, error) {
	if len(p) > len(zeroBlock) || !bytes.Equal(p, zeroBlock[:len(p)]) {
		s.chunks = append(s.chunks, sparseChunk{off: s.n, data: bytes.Clone(p)})
	}
	s.n += int64(len(p))
	return len(p), nil
}

func (s *sparseBuffer) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.n {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), s.n-off))
	clear(p[:n])
	for _, c := range s.chunks {
		if c.off < off+int64(n) && c.off+int64(len(c.data)) > off {
			lo := max(c.off, off)
			copy(p[lo-off:n], c.data[lo-c.off:])
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
