package payload

import (
	"bytes"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Bounds on the small blobs the reader loads into memory; real ones are a few KiB.
const (
	maxManifestBlob = 4 << 20
	maxConfigBlob   = 16 << 20
)

// Image returns the image stored under ref, backed by the payload: its blobs are read by offset
// and checked against their digests as they are read.
func (r *Reader) Image(ref string) (v1.Image, error) {
	im, ok := r.image(ref)
	if !ok {
		return nil, fmt.Errorf("opening image %s: not in the payload", ref)
	}
	raw, err := r.readEntry(blobPath(im.ManifestDigest), maxManifestBlob)
	if err != nil {
		return nil, fmt.Errorf("opening image %s: %w", ref, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("opening image %s: parsing manifest: %w", ref, err)
	}
	if m.Config.Digest.String() != im.ConfigDigest {
		return nil, integrityErr(blobPath(im.ManifestDigest), "config %s, the payload manifest says %s", m.Config.Digest, im.ConfigDigest)
	}
	return partial.CompressedToImage(&payloadImage{r: r, raw: raw, m: m, info: im})
}

func (r *Reader) image(ref string) (Image, bool) {
	for _, im := range r.manifest.Images {
		if im.Ref == ref {
			return im, true
		}
	}
	return Image{}, false
}

type payloadImage struct {
	r    *Reader
	raw  []byte
	m    *v1.Manifest
	info Image
}

func (p *payloadImage) RawManifest() ([]byte, error) { return p.raw, nil }

func (p *payloadImage) MediaType() (types.MediaType, error) {
	if p.m.MediaType == "" {
		return types.OCIManifestSchema1, nil
	}
	return p.m.MediaType, nil
}

func (p *payloadImage) RawConfigFile() ([]byte, error) {
	return p.r.readEntry(blobPath(p.m.Config.Digest.String()), maxConfigBlob)
}

func (p *payloadImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	descs := append([]v1.Descriptor{p.m.Config}, p.m.Layers...)
	for _, d := range descs {
		if d.Digest != h {
			continue
		}
		e, ok := p.r.byPath[blobPath(h.String())]
		if !ok {
			return nil, fmt.Errorf("blob %s is not in the payload", h)
		}
		b := &payloadBlob{r: p.r, e: e, desc: d, diffID: h, usize: e.Size}
		for _, l := range p.info.Layers {
			if l.Digest == h.String() {
				b.diffID, _ = v1.NewHash(l.DiffID)
				b.usize = l.UncompressedSize
			}
		}
		return b, nil
	}
	return nil, fmt.Errorf("image has no blob %s", h)
}

// payloadBlob is one blob of the OCI layout, read by offset and hash-checked.
// DiffID and UncompressedSize come from the payload manifest; validate.Image checks them.
type payloadBlob struct {
	r      *Reader
	e      Entry
	desc   v1.Descriptor
	diffID v1.Hash
	usize  int64
}

func (b *payloadBlob) DiffID() (v1.Hash, error)         { return b.diffID, nil }
func (b *payloadBlob) UncompressedSize() (int64, error) { return b.usize, nil }

func (b *payloadBlob) Digest() (v1.Hash, error)            { return b.desc.Digest, nil }
func (b *payloadBlob) Size() (int64, error)                { return b.e.Size, nil }
func (b *payloadBlob) MediaType() (types.MediaType, error) { return b.desc.MediaType, nil }
func (b *payloadBlob) Compressed() (io.ReadCloser, error)  { return b.r.open(b.e), nil }
