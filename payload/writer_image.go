package payload

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/harborbundle/bundle/progress"
)

// AddImage writes img's blobs now (each digest once, however many images share it) and records
// it under ref (e.g. "goharbor/harbor-core:v1.10.0") and component. With zstd compression, layers
// not in zstd yet are recompressed first (see ZstdImage). Every blob is checked against its digest
// while it is written, and every layer's uncompressed content against the config's diff IDs.
func (w *Writer) AddImage(ref, component string, img v1.Image) (err error) {
	if err := w.usable(); err != nil {
		return err
	}
	if _, err := name.ParseReference(ref); err != nil {
		return fmt.Errorf("adding image %q: %w", ref, err)
	}
	for _, im := range w.images {
		if im.Ref == ref {
			return fmt.Errorf("adding image %s: already added", ref)
		}
	}
	defer w.removeSpool()
	if w.opts.Compression == "zstd" {
		if img, err = zstdImageCached(img, w.opts.Level, w.opts.SpoolDir, w.zcache); err != nil {
			return fmt.Errorf("adding image %s: %w", ref, err)
		}
	}
	if w.opts.OCIManifests {
		if img, err = ociImage(img); err != nil {
			return fmt.Errorf("adding image %s: %w", ref, err)
		}
	}
	im, err := w.writeImage(ref, img)
	if err != nil {
		return fmt.Errorf("adding image %s: %w", ref, err)
	}
	im.Component = component
	w.images = append(w.images, im)
	return nil
}

// parsedImage is what AddImage needs from an image before writing it.
type parsedImage struct {
	rawManifest, rawConfig []byte
	manifest               *v1.Manifest
	config                 *v1.ConfigFile
	layers                 []v1.Layer
	desc                   v1.Descriptor
}

func parseImage(img v1.Image) (*parsedImage, error) {
	p := &parsedImage{}
	var err error
	if p.rawManifest, err = img.RawManifest(); err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	if p.manifest, err = v1.ParseManifest(bytes.NewReader(p.rawManifest)); err != nil {
		return nil, fmt.Errorf("parsing manifest: %w", err)
	}
	if p.rawConfig, err = img.RawConfigFile(); err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	if p.config, err = v1.ParseConfigFile(bytes.NewReader(p.rawConfig)); err != nil {
		return nil, fmt.Errorf("parsing config: %w", err)
	}
	if p.layers, err = img.Layers(); err != nil {
		return nil, fmt.Errorf("reading layers: %w", err)
	}
	if n := len(p.manifest.Layers); len(p.layers) != n || len(p.config.RootFS.DiffIDs) != n {
		return nil, fmt.Errorf("manifest lists %d layers, config %d diff IDs, image has %d layers", n, len(p.config.RootFS.DiffIDs), len(p.layers))
	}
	mt, err := img.MediaType()
	if err != nil {
		return nil, fmt.Errorf("reading media type: %w", err)
	}
	digest, size, err := v1.SHA256(bytes.NewReader(p.rawManifest))
	if err != nil {
		return nil, err
	}
	p.desc = v1.Descriptor{MediaType: mt, Size: size, Digest: digest}
	if p.config.OS != "" {
		p.desc.Platform = &v1.Platform{OS: p.config.OS, Architecture: p.config.Architecture, Variant: p.config.Variant}
	}
	return p, nil
}

func (w *Writer) writeImage(ref string, img v1.Image) (Image, error) {
	p, err := parseImage(img)
	if err != nil {
		return Image{}, err
	}
	im := Image{
		Ref: ref, ManifestDigest: p.desc.Digest.String(), ConfigDigest: p.manifest.Config.Digest.String(),
		Size: int64(len(p.rawManifest) + len(p.rawConfig)),
	}
	if p.desc.Platform != nil {
		im.Platform = p.desc.Platform.String()
	}
	for _, l := range p.manifest.Layers {
		im.Size += l.Size
	}
	rep := w.opts.Progress
	rep.Start(ref, im.Size)
	defer func() { rep.Done(ref, err) }()
	pw := progress.Writer{R: rep, Task: ref}
	for i, l := range p.layers {
		info, err := w.writeLayer(l, p.manifest.Layers[i], p.config.RootFS.DiffIDs[i], pw)
		if err != nil {
			return Image{}, err
		}
		im.Layers = append(im.Layers, info)
		im.UncompressedSize += info.UncompressedSize
	}
	if err := w.writeBytes(p.manifest.Config.Digest, p.rawConfig, pw); err != nil {
		return Image{}, fmt.Errorf("writing config: %w", err)
	}
	if err := w.writeBytes(p.desc.Digest, p.rawManifest, pw); err != nil {
		return Image{}, fmt.Errorf("writing manifest: %w", err)
	}
	p.desc.Annotations = map[string]string{refAnnotation: ref}
	w.index = append(w.index, p.desc)
	return im, nil
}

// writeBytes writes a small blob (config, manifest) unless it is in the payload already.
func (w *Writer) writeBytes(digest v1.Hash, b []byte, pw io.Writer) error {
	if _, ok := w.blobs[digest.String()]; ok {
		pw.Write(b)
		return nil
	}
	if _, err := w.addEntry(blobPath(digest.String()), 0o644, int64(len(b)), bytes.NewReader(b), digest.Hex, pw); err != nil {
		return err
	}
	w.blobs[digest.String()] = LayerInfo{Digest: digest.String(), Size: int64(len(b))}
	return nil
}

// knownSize is implemented by layers that recorded their uncompressed size (zstdLayer), which
// spares the writer decompressing them again.
type knownSize interface {
	knownUncompressedSize() (int64, v1.Hash)
}

// DigestChecked is implemented by layers whose compressed bytes whoever hands them to the
// writer has just checked against their digest (the builder's cache, in the same build, while
// downloading them): the writer then takes the digest as the entry's sha256 instead of hashing
// the bytes a second time. Should the bytes change in between, the payload's own verification
// on the host (bundle verify, and every extraction) finds the entry's sha256 wrong.
type DigestChecked interface {
	DigestChecked() bool
}

func digestChecked(l v1.Layer) bool {
	c, ok := l.(DigestChecked)
	return ok && c.DigestChecked()
}

// recordedSize returns the uncompressed size a layer says it has recorded, through the
// UncompressedSize method go-containerregistry's own layer types use for the same purpose.
func recordedSize(l v1.Layer) (int64, bool) {
	us, ok := l.(interface{ UncompressedSize() (int64, error) })
	if !ok {
		return 0, false
	}
	n, err := us.UncompressedSize()
	return n, err == nil && n >= 0
}

// writeLayer writes a layer blob unless it is in the payload already, and measures its
// uncompressed size (checking its diff ID) as it goes, decompressing on another goroutine.
func (w *Writer) writeLayer(l v1.Layer, desc v1.Descriptor, diffID v1.Hash, pw progress.Writer) (LayerInfo, error) {
	if info, ok := w.blobs[desc.Digest.String()]; ok {
		if info.DiffID != diffID.String() {
			return LayerInfo{}, fmt.Errorf("layer %s: diff ID %s here, %s in another image", desc.Digest, diffID, info.DiffID)
		}
		pw.R.Add(pw.Task, info.Size)
		return info, nil
	}
	rc, err := l.Compressed()
	if err != nil {
		return LayerInfo{}, fmt.Errorf("reading layer %s: %w", desc.Digest, err)
	}
	defer rc.Close()
	info := LayerInfo{Digest: desc.Digest.String(), DiffID: diffID.String(), Size: desc.Size}
	if ks, ok := l.(knownSize); ok {
		usize, id := ks.knownUncompressedSize()
		if id != diffID {
			return LayerInfo{}, fmt.Errorf("layer %s: recompressed from diff ID %s, config says %s", desc.Digest, id, diffID)
		}
		info.UncompressedSize = usize
		// Ours: its digest was computed from the very bytes the encoder wrote.
		if _, err := w.addChecked(blobPath(info.Digest), 0o644, desc.Size, rc, desc.Digest.Hex, pw); err != nil {
			return LayerInfo{}, err
		}
	} else if usize, ok := recordedSize(l); ok {
		// The caller measured it when it made the layer (the builder's cache records the size
		// payload's encoder measured while checking the diff ID): no second decompression.
		// docker load checks diff IDs itself, so trusting the size cannot smuggle content in.
		info.UncompressedSize = usize
		add := w.addEntry
		if digestChecked(l) {
			add = w.addChecked
		}
		if _, err := add(blobPath(info.Digest), 0o644, desc.Size, rc, desc.Digest.Hex, pw); err != nil {
			return LayerInfo{}, err
		}
	} else if info.UncompressedSize, err = w.writeMeasured(rc, desc, diffID, pw); err != nil {
		return LayerInfo{}, err
	}
	w.blobs[info.Digest] = info
	if z, ok := l.(*zstdLayer); ok && w.zcache[z.diffID] == z { // ours, not the caller's
		os.Remove(z.path)
	}
	return info, nil
}

func (w *Writer) writeMeasured(rc io.Reader, desc v1.Descriptor, diffID v1.Hash, pw io.Writer) (int64, error) {
	m := newMeasurer()
	_, werr := w.addEntry(blobPath(desc.Digest.String()), 0o644, desc.Size, rc, desc.Digest.Hex, io.MultiWriter(pw, m))
	usize, got, merr := m.finish()
	switch {
	case werr != nil:
		return 0, werr
	case merr != nil:
		w.err = fmt.Errorf("layer %s: decompressing: %w", desc.Digest, merr)
	case got != diffID:
		w.err = fmt.Errorf("layer %s: uncompressed content is %s, config says %s", desc.Digest, got, diffID)
	}
	if w.err != nil {
		return 0, w.err
	}
	return usize, nil
}
