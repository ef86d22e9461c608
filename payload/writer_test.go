package payload

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestAddFileRefuses(t *testing.T) {
	cases := map[string]func(w *Writer) error{
		"outside installer": func(w *Writer) error { return w.AddFile("images/x", 0o644, 1, strings.NewReader("x")) },
		"dot dot":           func(w *Writer) error { return w.AddFile("installer/../x", 0o644, 1, strings.NewReader("x")) },
		"absolute":          func(w *Writer) error { return w.AddFile("/installer/x", 0o644, 1, strings.NewReader("x")) },
		"directory mode":    func(w *Writer) error { return w.AddFile("installer/d", os.ModeDir|0o755, 0, strings.NewReader("")) },
		"short source":      func(w *Writer) error { return w.AddFile("installer/s", 0o644, 5, strings.NewReader("abc")) },
		"duplicate": func(w *Writer) error {
			w.AddFile("installer/a", 0o644, 1, strings.NewReader("a"))
			return w.AddFile("installer/a", 0o644, 1, strings.NewReader("a"))
		},
		"file then dir": func(w *Writer) error {
			w.AddFile("installer/a", 0o644, 1, strings.NewReader("a"))
			return w.AddFile("installer/a/b", 0o644, 1, strings.NewReader("b"))
		},
		"dir then file": func(w *Writer) error {
			w.AddFile("installer/a/b", 0o644, 1, strings.NewReader("b"))
			return w.AddFile("installer/a", 0o644, 1, strings.NewReader("a"))
		},
	}
	for name, add := range cases {
		t.Run(name, func(t *testing.T) {
			if err := add(NewWriter(io.Discard, WriterOptions{Compression: "keep"})); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// lyingLayer claims a digest or diff ID its content does not have, as a corrupt cache or a
// hostile registry would.
type lyingLayer struct {
	v1.Layer
	digest, diffID *v1.Hash
}

func (l lyingLayer) Digest() (v1.Hash, error) {
	if l.digest != nil {
		return *l.digest, nil
	}
	return l.Layer.Digest()
}

func (l lyingLayer) DiffID() (v1.Hash, error) {
	if l.diffID != nil {
		return *l.diffID, nil
	}
	return l.Layer.DiffID()
}

// TestAddImageChecksSources proves the writer does not store what does not match its digests:
// a blob whose content differs from its digest, a layer whose content differs from the diff ID.
func TestAddImageChecksSources(t *testing.T) {
	wrong := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	good := tarLayer(t, map[string]string{"f": "content"})
	for _, c := range []struct {
		name, compression string
		layer             v1.Layer
	}{
		{"digest keep", "keep", lyingLayer{Layer: good, digest: &wrong}},
		{"diff ID keep", "keep", lyingLayer{Layer: good, diffID: &wrong}},
		{"diff ID zstd", "zstd", lyingLayer{Layer: good, diffID: &wrong}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := NewWriter(io.Discard, WriterOptions{Compression: c.compression, SpoolDir: t.TempDir()})
			err := w.AddImage("x/y:1", "core", craftedImage(t, c.layer))
			if err == nil {
				t.Fatal("image with a lying layer accepted")
			}
			t.Log(err)
		})
	}
}

func TestWriterMisuse(t *testing.T) {
	img := testImages(t)[0]
	w := NewWriter(io.Discard, WriterOptions{Compression: "keep", BuildTime: testBuildTime})
	if err := w.AddImage(img.ref, img.component, img.img); err != nil {
		t.Fatal(err)
	}
	if err := w.AddImage(img.ref, img.component, img.img); err == nil {
		t.Error("the same ref added twice")
	}
	if err := w.AddImage("Not A Ref!", "core", img.img); err == nil {
		t.Error("an invalid ref accepted")
	}
	m := testManifest()
	m.Builder.BuildTime = testBuildTime.Add(time.Hour)
	if _, err := w.Close(m); err == nil {
		t.Error("a build time other than the entries' accepted")
	}
	w = NewWriter(io.Discard, WriterOptions{Compression: "keep"})
	if _, err := w.Close(testManifest()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(testManifest()); err == nil {
		t.Error("Close twice succeeded")
	}
}

// TestSpoolCleaned proves the writer removes the layers it recompressed, and only those.
func TestSpoolCleaned(t *testing.T) {
	spool, callers := t.TempDir(), t.TempDir()
	pre, err := ZstdImage(randomImage(t, 1024, 2), LevelFastest, callers)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := NewWriter(&buf, WriterOptions{SpoolDir: spool})
	for i, img := range []v1.Image{pre, randomImage(t, 1024, 2)} {
		if err := w.AddImage("x/y:"+string(rune('a'+i)), "core", img); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(testManifest()); err != nil {
		t.Fatal(err)
	}
	if left := listDir(t, spool); len(left) != 0 {
		t.Errorf("spool dir still holds %v", left)
	}
	if left := listDir(t, callers); len(left) != 2 {
		t.Errorf("the caller's precompressed layers: %v, want 2 files", left)
	}
}
