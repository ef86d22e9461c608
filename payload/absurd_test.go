package payload

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// oneTB is the absurd size the hostile payloads below claim.
const oneTB = int64(1) << 40

// absurdPayload is a ~1 MiB payload whose one entry's tar header claims headerSize bytes while
// the manifest claims manifestSize; the manifest itself is an ordinary entry at the end.
// The returned offsets locate the manifest as a trailer would.
func absurdPayload(t *testing.T, headerSize, manifestSize int64) (b []byte, manOff, manLen int64) {
	t.Helper()
	data := bytes.Repeat([]byte("harbor "), (1<<20)/7)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// The header is written as soon as WriteHeader returns; the writer is then dropped, as it
	// would refuse to close an entry 1 TB short of its size.
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "installer/big", Mode: 0o644, Size: headerSize, Format: tar.FormatGNU}); err != nil {
		t.Fatal(err)
	}
	buf.Write(data)
	if pad := buf.Len() % 512; pad != 0 {
		buf.Write(make([]byte, 512-pad))
	}
	sum := sha256.Sum256(data)
	m := testManifest()
	m.SchemaVersion, m.Compression = SchemaVersion, Compression{Algorithm: "keep"}
	m.Entries = []Entry{{Path: "installer/big", Size: manifestSize, SHA256: hex.EncodeToString(sum[:]), Offset: 512, Mode: 0o644}}
	body, err := yaml.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	tw = tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: ManifestName, Mode: 0o644, Size: int64(len(body))})
	manOff = int64(buf.Len())
	tw.Write(body)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), manOff, int64(len(body))
}

// TestAbsurdSizesRefusedInBoundedMemory: a 1 MiB payload claiming a 1 TB entry, in its tar
// header, its manifest or both, is refused quickly, with one line, without allocating anything
// near the claimed size (what the process allocates in total stays under 64 MiB), and without
// writing anything.
func TestAbsurdSizesRefusedInBoundedMemory(t *testing.T) {
	const maxAlloc = 64 << 20
	cases := []struct {
		name                     string
		headerSize, manifestSize int64
	}{
		{"tar header claims 1 TB", oneTB, 1 << 20},
		{"manifest claims 1 TB", 1 << 20, oneTB},
		{"both claim 1 TB", oneTB, oneTB},
		{"manifest claims 2^62", 1 << 20, 1 << 62},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, off, n := absurdPayload(t, c.headerSize, c.manifestSize)
			if len(b) > 2<<20 {
				t.Fatalf("payload is %d bytes; the case wants a small file", len(b))
			}
			parent := t.TempDir()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			began := time.Now()
			err := refuseAbsurd(b, off, n, filepath.Join(parent, "target"))
			took := time.Since(began)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("a 1 TB claim in a 1 MiB payload was accepted")
			}
			if msg := err.Error(); strings.Contains(msg, "\n") {
				t.Errorf("message is not one line: %q", msg)
			}
			var ie *IntegrityError
			if !errors.As(err, &ie) && !strings.HasPrefix(err.Error(), "open: ") {
				t.Errorf("got %T %v; want an *IntegrityError or a refusal by Open", err, err)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("refused in %v, allocating %d KiB in total: %v", took, alloc>>10, err)
			if alloc > maxAlloc {
				t.Errorf("allocated %d MiB refusing it; want < %d MiB", alloc>>20, maxAlloc>>20)
			}
			if took > 5*time.Second {
				t.Errorf("took %v to refuse", took)
			}
			if left := listDir(t, parent); len(left) != 0 {
				t.Errorf("left %v behind", left)
			}
		})
	}
}

// refuseAbsurd opens, verifies and extracts, and returns the first refusal. Open's refusal is
// prefixed "open: " to tell it apart.
func refuseAbsurd(b []byte, off, n int64, dir string) error {
	r, err := Open(bytes.NewReader(b), int64(len(b)), off, n, sha256.Sum256(b[off:off+n]))
	if err != nil {
		return errors.New("open: " + err.Error())
	}
	if err := r.Verify(bg, nil); err != nil {
		return err
	}
	return r.Extract(bg, dir, nil)
}

// TestManifestPathsOutsideTheLayout: a manifest naming a path anywhere but installer/ and the
// OCI layout's own files, directly or through an image's digests, is refused by Open before
// any entry is read.
func TestManifestPathsOutsideTheLayout(t *testing.T) {
	cases := map[string]func(*Manifest){
		"absolute path":          func(m *Manifest) { m.Entries[0].Path = "/etc/passwd" },
		"top-level file":         func(m *Manifest) { m.Entries[0].Path = "harbor.yml" },
		"images but not layout":  func(m *Manifest) { m.Entries[0].Path = "images/evil" },
		"blob dir escape":        func(m *Manifest) { m.Entries[0].Path = "images/blobs/sha256/../../../etc/cron.d/x" },
		"blob with short name":   func(m *Manifest) { m.Entries[0].Path = "images/blobs/sha256/abc" },
		"blob in other algo dir": func(m *Manifest) { m.Entries[0].Path = "images/blobs/sha512/" + hex64("a") },
		"installer dot":          func(m *Manifest) { m.Entries[0].Path = "installer/./a" },
		"control characters":     func(m *Manifest) { m.Entries[0].Path = "installer/\x1b[2Ja" },
		"image digest escape": func(m *Manifest) {
			m.Images = []Image{{Ref: "goharbor/x:v1", Component: "core", ManifestDigest: "sha256:../../../../etc/passwd", ConfigDigest: "sha256:" + hex64("c")}}
		},
		"image layer escape": func(m *Manifest) {
			m.Images = []Image{{Ref: "goharbor/x:v1", Component: "core", ManifestDigest: "sha256:" + hex64("m"), ConfigDigest: "sha256:" + hex64("c"),
				Layers: []LayerInfo{{Digest: "sha256:../../../etc/shadow", DiffID: "sha256:" + hex64("l")}}}}
		},
	}
	// The manifest and config blobs exist, so that the layer's digest is what is refused.
	entries := []hostileEntry{reg("installer/a", "a"), reg(blobDir+hex64("m"), "m"), reg(blobDir+hex64("c"), "c")}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			b := hostileTar(t, entries, edit)
			_, err := openRaw(b)
			if err == nil {
				t.Fatal("Open accepted the manifest")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message is not one line: %q", err)
			}
			if name == "image layer escape" && !strings.Contains(err.Error(), "etc/shadow") {
				t.Errorf("refused for another reason: %v", err)
			}
			t.Log(err)
		})
	}
}
