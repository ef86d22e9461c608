package payload

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// hostileEntry is one hand-made tar entry.
type hostileEntry struct {
	hdr  tar.Header
	data string
}

func reg(name, data string) hostileEntry {
	return hostileEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data))}, data: data}
}

// hostileTar writes entries as given, then a manifest.yaml listing every regular entry whose path
// a manifest may hold (first occurrence), as edited by edit; the manifest is not validated, so
// that the reader's own checks are what is tested.
func hostileTar(t testing.TB, entries []hostileEntry, edit func(m *Manifest)) []byte {
	t.Helper()
	var buf bytes.Buffer
	cw := &countingWriter{w: &buf}
	tw := tar.NewWriter(cw)
	m := testManifest()
	m.SchemaVersion, m.Compression = SchemaVersion, Compression{Algorithm: "keep"}
	listed := map[string]bool{}
	for _, e := range entries {
		hdr := e.hdr
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatal(err)
		}
		tw.Flush()
		off := cw.n
		if _, err := tw.Write([]byte(e.data)); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg && checkEntryPath(hdr.Name) == nil && !listed[hdr.Name] {
			sum := sha256.Sum256([]byte(e.data))
			m.Entries = append(m.Entries, Entry{Path: hdr.Name, Size: hdr.Size, SHA256: hex.EncodeToString(sum[:]), Offset: off, Mode: uint32(hdr.Mode)})
			listed[hdr.Name] = true
		}
	}
	if edit != nil {
		edit(&m)
	}
	body, err := yaml.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: ManifestName, Mode: 0o644, Size: int64(len(body))})
	tw.Write(body)
	tw.Close()
	return buf.Bytes()
}

func TestHostileTars(t *testing.T) {
	outside := t.TempDir() // an absolute path an attacker would aim at
	absName := filepath.Join(outside, "abs")[1:]
	cases := []struct {
		name    string
		entries []hostileEntry
		edit    func(*Manifest)
		unsafe  bool // want *UnsafeEntryError rather than *IntegrityError
	}{
		{name: "dot dot", entries: []hostileEntry{reg("installer/a", "a"), reg("../x", "evil")}, unsafe: true},
		{name: "dot dot inside", entries: []hostileEntry{reg("installer/../../x", "evil")}, unsafe: true},
		{name: "absolute", entries: []hostileEntry{reg("/"+absName, "evil")}, unsafe: true},
		{name: "symlink", entries: []hostileEntry{
			{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "installer/a", Linkname: outside}},
			reg("installer/a/passwd", "evil")}, unsafe: true},
		{name: "hardlink", entries: []hostileEntry{
			reg("installer/a", "a"),
			{hdr: tar.Header{Typeflag: tar.TypeLink, Name: "installer/h", Linkname: "installer/a"}}}, unsafe: true},
		{name: "char device", entries: []hostileEntry{
			{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "installer/null", Devmajor: 1, Devminor: 3, Mode: 0o666}}}, unsafe: true},
		{name: "fifo", entries: []hostileEntry{{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "installer/p"}}}, unsafe: true},
		{name: "directory", entries: []hostileEntry{{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "installer/d/", Mode: 0o777}}}, unsafe: true},
		{name: "duplicate", entries: []hostileEntry{reg("installer/f", "one"), reg("installer/f", "two")}, unsafe: true},
		{name: "not clean", entries: []hostileEntry{reg("installer//f", "x")}, unsafe: true},
		{name: "not in manifest", entries: []hostileEntry{reg("installer/a", "a"), reg("installer/extra", "x")},
			edit: func(m *Manifest) { m.Entries = m.Entries[:1] }},
		{name: "size lie", entries: []hostileEntry{reg("installer/a", "abc")},
			edit: func(m *Manifest) { m.Entries[0].Size = 2 }},
		{name: "content lie", entries: []hostileEntry{reg("installer/a", "abc")},
			edit: func(m *Manifest) { m.Entries[0].SHA256 = m.Entries[0].SHA256[:63] + "0" }},
		{name: "mode lie", entries: []hostileEntry{reg("installer/a", "abc")},
			edit: func(m *Manifest) { m.Entries[0].Mode = 0o755 }},
		{name: "setuid", entries: []hostileEntry{{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "installer/s", Mode: 0o4755, Size: 1}, data: "s"}},
			edit: func(m *Manifest) {
				m.Entries = []Entry{{Path: "installer/s", Size: 1, SHA256: hex64("s"), Offset: 512, Mode: 0o755}}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := hostileTar(t, c.entries, c.edit)
			r, err := openRaw(b)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			verr := r.Verify(bg, nil)
			t.Log(verr)
			checkRefused(t, verr, c.unsafe)
			parent := t.TempDir()
			sibling := filepath.Join(parent, "sibling")
			os.Mkdir(sibling, 0o755)
			checkRefused(t, r.Extract(bg, filepath.Join(parent, "target"), nil), c.unsafe)
			if left := listDir(t, parent); len(left) != 1 || left[0] != "sibling" {
				t.Errorf("extraction left %v in its parent", left)
			}
			if left := listDir(t, outside); len(left) != 0 {
				t.Errorf("extraction wrote %v outside its target", left)
			}
		})
	}
}

func hex64(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func checkRefused(t *testing.T, err error, unsafe bool) {
	t.Helper()
	var ue *UnsafeEntryError
	var ie *IntegrityError
	switch {
	case err == nil:
		t.Fatal("hostile payload accepted")
	case unsafe && !errors.As(err, &ue):
		t.Errorf("got %v, want an *UnsafeEntryError", err)
	case !unsafe && !errors.As(err, &ie):
		t.Errorf("got %v, want an *IntegrityError", err)
	}
}

// TestHostileManifests covers what Open refuses before reading any entry.
func TestHostileManifests(t *testing.T) {
	cases := map[string]func(*Manifest){
		"entry missing from the tar": func(m *Manifest) {
			m.Entries = append(m.Entries, Entry{Path: "installer/ghost", Size: 0, SHA256: hex64(""), Offset: 1536})
		},
		"entry larger than the payload": func(m *Manifest) { m.Entries[0].Size = 1 << 40 },
		"path outside":                  func(m *Manifest) { m.Entries[0].Path = "etc/passwd" },
		"path with dot dot":             func(m *Manifest) { m.Entries[0].Path = "installer/../../x" },
		"unknown schema":                func(m *Manifest) { m.SchemaVersion = 2 },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			b := hostileTar(t, []hostileEntry{reg("installer/a", "a")}, edit)
			if _, err := openRaw(b); err == nil {
				t.Fatal("Open accepted the payload")
			}
		})
	}
}
