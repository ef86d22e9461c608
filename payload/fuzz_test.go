package payload

import (
	"archive/tar"
	"os"
	"path/filepath"
	"testing"
)

func FuzzParseManifest(f *testing.F) {
	_, sum := writePayload(f, WriterOptions{Compression: "keep"}, testImages(f)[:2], testFiles)
	good, _ := sum.Manifest.Marshal()
	f.Add(good)
	f.Add([]byte("schema_version: 1\nrelease: v1\n"))
	f.Add([]byte("schema_version: 1\nrelease: v1\nentries:\n  - {path: installer/a, size: 1, offset: 512, sha256: x}\n"))
	f.Add([]byte("schema_version: 2\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("a parsed manifest does not marshal: %v", err)
		}
		if _, err := ParseManifest(out); err != nil {
			t.Fatalf("a marshalled manifest does not parse: %v\n%s", err, out)
		}
	})
}

// FuzzTarEntries feeds arbitrary bytes as a payload whose trailer is honest about its (hostile)
// manifest: the reader must never panic and never write outside the extraction directory.
func FuzzTarEntries(f *testing.F) {
	good, _ := writePayload(f, WriterOptions{Compression: "keep"}, testImages(f)[:1], testFiles[:2])
	f.Add(good)
	seeds := [][]hostileEntry{
		{reg("installer/a", "a"), reg("../x", "evil")},
		{{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "installer/a", Linkname: "/etc"}}, reg("installer/a/p", "x")},
		{reg("installer/f", "one"), reg("installer/f", "two")},
		{{hdr: tar.Header{Typeflag: tar.TypeLink, Name: "installer/h", Linkname: "/etc/passwd"}}},
		{reg("installer/a", "abc"), reg("images/oci-layout", "{}")},
	}
	for _, s := range seeds {
		f.Add(hostileTar(f, s, nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := openRaw(b)
		if err != nil {
			return
		}
		r.Verify(bg, nil)
		parent := t.TempDir()
		target := filepath.Join(parent, "target")
		err = r.Extract(bg, target, nil)
		entries, _ := os.ReadDir(parent)
		if len(entries) > 1 || (len(entries) == 1 && entries[0].Name() != "target") {
			t.Fatalf("extraction wrote outside its target: %v", entries)
		}
		if err != nil && len(entries) != 0 {
			t.Fatalf("failed extraction (%v) left its target behind", err)
		}
		for _, im := range r.Manifest().Images {
			if img, err := r.Image(im.Ref); err == nil {
				img.Layers()
			}
		}
		r.DockerArchive(bg, discard{}, nil)
	})
}
