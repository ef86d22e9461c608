package payload

import (
	"bytes"
	"io"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// flippedLayer serves bytes that differ from its digest (one flipped) and claims, as the builder's
// cached layers do, to know its uncompressed size and to have had its digest checked.
type flippedLayer struct {
	v1.Layer
	checked bool
}

func (l flippedLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	b[len(b)/2] ^= 0xff
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (l flippedLayer) UncompressedSize() (int64, error) { return 1 << 20, nil }
func (l flippedLayer) DigestChecked() bool              { return l.checked }

// TestDigestChecked: a layer whose digest the caller says it checked is not hashed again by the
// writer, so bytes that changed after that check go into the payload, and the payload's own
// verification (what `bundle verify` and every extraction run) names that blob. Without the
// claim, the writer hashes the blob and refuses it.
func TestDigestChecked(t *testing.T) {
	img := randomImage(t, 4096, 1)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := layers[0].Digest()
	mt, _ := img.MediaType()
	rawManifest, _ := img.RawManifest()
	rawConfig, _ := img.RawConfigFile()
	lying := func(checked bool) v1.Image {
		return NewImage(mt, rawManifest, rawConfig, []v1.Layer{flippedLayer{Layer: layers[0], checked: checked}})
	}

	w := NewWriter(io.Discard, WriterOptions{Compression: "keep", SpoolDir: t.TempDir()})
	err = w.AddImage("goharbor/harbor-core:v1.10.0", "core", lying(false))
	if err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("unchecked layer with wrong bytes: got %v, want a sha256 mismatch", err)
	}

	var buf bytes.Buffer
	w = NewWriter(&buf, WriterOptions{Compression: "keep", SpoolDir: t.TempDir(), BuildTime: testBuildTime})
	if err := w.AddImage("goharbor/harbor-core:v1.10.0", "core", lying(true)); err != nil {
		t.Fatalf("checked layer: %v", err)
	}
	sum, err := w.Close(testManifest())
	if err != nil {
		t.Fatal(err)
	}
	expectIntegrity(t, openPayload(t, buf.Bytes(), sum).Verify(bg, nil), blobPath(digest.String()))
}
