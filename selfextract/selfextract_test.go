package selfextract

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// makeRun writes a .run with the given stub and payload bytes; the "manifest" is the last
// manifestLen bytes of the payload.
func makeRun(t *testing.T, dir string, stub, payload []byte, manifestLen int) string {
	t.Helper()
	path := filepath.Join(dir, "x.run")
	w, err := Create(path, bytes.NewReader(stub), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(payload); err != nil {
		t.Fatal(err)
	}
	mOff := len(payload) - manifestLen
	tr := Trailer{ManifestOffset: uint64(mOff), ManifestLength: uint64(manifestLen), ManifestSHA256: sha256.Sum256(payload[mOff:])}
	if _, _, err := w.Commit(tr); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	stub := []byte("#!/bin/false stub bytes")
	payload := bytes.Repeat([]byte("payload!"), 1000)
	path := makeRun(t, dir, stub, payload, 100)
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Trailer.PayloadOffset != uint64(len(stub)) || b.Trailer.PayloadLength != uint64(len(payload)) {
		t.Fatalf("trailer %+v", b.Trailer)
	}
	got := make([]byte, len(payload))
	if _, err := b.Payload.ReadAt(got, 0); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("payload differs: %v", err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755 (it is run directly)", st.Mode())
	}
	// The stub of a .run is the original binary: building from a .run does not nest payloads.
	r, n, err := StubReader(path)
	if err != nil || n != int64(len(stub)) {
		t.Fatalf("stub reader: %d %v", n, err)
	}
	r.Close()
	// No temp files left next to it.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
}

func TestEveryTrailerByteFlipIsDetected(t *testing.T) {
	dir := t.TempDir()
	path := makeRun(t, dir, []byte("stub"), bytes.Repeat([]byte{7}, 5000), 50)
	orig, _ := os.ReadFile(path)
	for i := len(orig) - TrailerSize; i < len(orig); i++ {
		bad := bytes.Clone(orig)
		bad[i] ^= 0x01
		_, err := openReaderAt(bytes.NewReader(bad), int64(len(bad)))
		if err == nil {
			t.Fatalf("flip at trailer byte %d not detected", i-(len(orig)-TrailerSize))
		}
	}
}

func TestTruncatedAndPlainFiles(t *testing.T) {
	dir := t.TempDir()
	path := makeRun(t, dir, []byte("stub"), bytes.Repeat([]byte{1}, 9000), 10)
	data, _ := os.ReadFile(path)
	cut := filepath.Join(dir, "cut.run")
	os.WriteFile(cut, data[:len(data)-1], 0o755)
	if _, err := Open(cut); !errors.Is(err, ErrNoPayload) {
		t.Errorf("truncated at the end: %v, want ErrNoPayload", err)
	}
	// Cut in the middle but trailer intact (a part missing when joining): offsets no longer fit.
	mid := filepath.Join(dir, "mid.run")
	os.WriteFile(mid, append(append([]byte{}, data[:100]...), data[2000:]...), 0o755)
	var te *TrailerError
	if _, err := Open(mid); !errors.As(err, &te) {
		t.Errorf("missing middle: %v, want TrailerError", err)
	}
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, []byte("just a binary"), 0o755)
	if _, err := Open(plain); !errors.Is(err, ErrNoPayload) {
		t.Errorf("plain file: %v", err)
	}
}

func TestTrailerBounds(t *testing.T) {
	good := Trailer{PayloadOffset: 10, PayloadLength: 100, ManifestOffset: 90, ManifestLength: 10}
	if err := good.check(10 + 100 + TrailerSize); err != nil {
		t.Fatal(err)
	}
	for name, tr := range map[string]Trailer{
		"manifest past payload": {PayloadOffset: 10, PayloadLength: 100, ManifestOffset: 95, ManifestLength: 10},
		"huge manifest":         {PayloadOffset: 10, PayloadLength: 100, ManifestOffset: 0, ManifestLength: 1 << 40},
		"overflow":              {PayloadOffset: 10, PayloadLength: 100, ManifestOffset: ^uint64(0) - 5, ManifestLength: 10},
		"payload past file":     {PayloadOffset: 10, PayloadLength: 1 << 40, ManifestOffset: 0, ManifestLength: 10},
	} {
		if err := tr.check(10 + 100 + TrailerSize); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestNoOverwriteWithoutForce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.run")
	os.WriteFile(path, []byte("precious"), 0o644)
	if _, err := Create(path, strings.NewReader("stub"), false); !errors.Is(err, ErrExists) {
		t.Fatalf("got %v, want ErrExists", err)
	}
	// The file appearing between Create and Commit is not clobbered either.
	os.Remove(path)
	w, err := Create(path, strings.NewReader("stub"), false)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("0123456789"))
	os.WriteFile(path, []byte("precious"), 0o644)
	if _, _, err := w.Commit(Trailer{ManifestOffset: 0, ManifestLength: 10}); !errors.Is(err, ErrExists) {
		t.Fatalf("got %v, want ErrExists", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Fatal("clobbered")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("partial file left: %v", ents)
	}
}

func TestSplitJoinAndCheckParts(t *testing.T) {
	dir := t.TempDir()
	payload := make([]byte, 10000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	path := makeRun(t, dir, []byte("stub-binary"), payload, 64)
	whole, _ := os.ReadFile(path)
	parts, err := Split(path, 3000)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 5 {
		t.Fatalf("%d parts", len(parts))
	}
	var joined []byte
	var paths []string
	for _, p := range parts {
		b, _ := os.ReadFile(p.Path)
		joined = append(joined, b...)
		paths = append(paths, p.Path)
	}
	if !bytes.Equal(joined, whole) {
		t.Fatal("concatenated parts differ from the .run")
	}
	if err := WriteChecksums(path, sha256.Sum256(whole), parts); err != nil {
		t.Fatal(err)
	}
	all, err := CheckParts(paths)
	if err != nil || len(all) != 5 {
		t.Fatalf("check all parts: %v %v", all, err)
	}
	b, err := OpenParts(all)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(payload))
	if _, err := b.Payload.ReadAt(got, 0); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("payload through parts differs: %v", err)
	}
	b.Close()
	// One part alone: checked, and reported as incomplete.
	if all, err := CheckParts(paths[1:2]); err != nil || all != nil {
		t.Fatalf("one part: %v %v", all, err)
	}
	// A damaged part is named.
	data, _ := os.ReadFile(paths[2])
	data[17] ^= 0xff
	os.WriteFile(paths[2], data, 0o644)
	_, err = CheckParts(paths)
	var pe *PartError
	if !errors.As(err, &pe) || pe.Part != paths[2] {
		t.Fatalf("damaged part: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"700M": 700 << 20, "4G": 4 << 30, "4GiB": 4 << 30, "4gb": 4 << 30, "1.5K": 1536, "123": 123} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1G", "0"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

func FuzzParseTrailer(f *testing.F) {
	good, _ := Trailer{PayloadOffset: 4, PayloadLength: 100, ManifestOffset: 50, ManifestLength: 50, Signature: []byte("sig")}.MarshalBinary()
	f.Add(good, int64(104+TrailerSize))
	f.Add(make([]byte, TrailerSize), int64(TrailerSize))
	f.Fuzz(func(t *testing.T, b []byte, size int64) {
		tr, err := ParseTrailer(b, size)
		if err != nil {
			return
		}
		// Whatever parses must describe a range inside the file.
		if tr.PayloadOffset+tr.PayloadLength+TrailerSize != uint64(size) || tr.ManifestOffset+tr.ManifestLength > tr.PayloadLength {
			t.Fatalf("accepted out-of-range trailer %+v for size %d", tr, size)
		}
	})
}
