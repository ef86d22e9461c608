package builder

import (
	"fmt"
	"github.com/harborbundle/bundle/payload"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// cachedLayer is a layer blob in the cache. It knows its diff ID from the image config, so
// nothing needs to decompress it just to ask.
type cachedLayer struct {
	path      string
	digest    v1.Hash
	diffID    v1.Hash
	size      int64
	mediaType types.MediaType
	usize     int64 // uncompressed size when known (measured by the download or the recompression), else -1
	// fresh is the layer as payload.ZstdLayer made it in this build: handing it to the payload
	// writer spares it measuring the layer again (it knows the uncompressed size it compressed).
	fresh v1.Layer
}

var _ v1.Layer = (*cachedLayer)(nil)

// UncompressedSize is known for layers the download measured (Cache.EnsureLayer) and for those
// recompressed by payload's encoder, both while checking the diff ID; it spares the payload
// writer decompressing them again.
func (l *cachedLayer) UncompressedSize() (int64, error) {
	if l.usize < 0 {
		return -1, fmt.Errorf("uncompressed size of layer %s not recorded", l.digest)
	}
	return l.usize, nil
}

// DigestChecked tells the payload writer not to hash the blob again: the pipeline hands it only
// blobs this build's Cache checked (downloaded and hashed, or re-hashed once when found).
func (l *cachedLayer) DigestChecked() bool { return true }

func (l *cachedLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *cachedLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *cachedLayer) Size() (int64, error)                { return l.size, nil }
func (l *cachedLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
func (l *cachedLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

// Uncompressed decompresses by content (gzip or zstd magic), not by media type: registries
// label layers loosely, the bytes do not lie.
func (l *cachedLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	r, closeFn, err := payload.Decompressor(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading layer %s: %w", l.digest, err)
	}
	return &stackCloser{Reader: r, closers: []io.Closer{closerFunc(closeFn), f}}, nil
}

type closerFunc func()

func (f closerFunc) Close() error { f(); return nil }

type stackCloser struct {
	io.Reader
	closers []io.Closer
}

func (s *stackCloser) Close() error {
	var first error
	for _, c := range s.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// image builds the image the payload stores: the registry's manifest with cached layers, or,
// when layers were recompressed, the manifest rewritten for them (config unchanged, so the
// image ID after docker load is the same).
func (p *pipeline) image(job *imageJob) (v1.Image, error) {
	rawConfig, err := readBlob(p.cache.Path(job.config.digest), job.config.size)
	if err != nil {
		return nil, fmt.Errorf("reading config of %s: %w", job.task, err)
	}
	rawManifest, mediaType := job.ri.raw, job.ri.mediaType
	m := job.ri.manifest.DeepCopy()
	changed := false
	layers := make([]v1.Layer, 0, len(job.layers))
	for k, l := range job.layers {
		if l.out.fresh != nil {
			layers = append(layers, l.out.fresh)
		} else {
			layers = append(layers, l.out)
		}
		if l.out.digest != m.Layers[k].Digest {
			changed = true
			m.Layers[k] = v1.Descriptor{MediaType: l.out.mediaType, Size: l.out.size, Digest: l.out.digest, Annotations: m.Layers[k].Annotations}
		}
	}
	if changed {
		// Its layers became zstd: the manifest is rewritten exactly as payload.ZstdImage does.
		if rawManifest, err = payload.EncodeOCIManifest(m); err != nil {
			return nil, err
		}
		mediaType = types.OCIManifestSchema1
	}
	return payload.NewImage(mediaType, rawManifest, rawConfig, layers), nil
}

// readBlob reads a small cached blob (a config), refusing one larger than the registry said.
func readBlob(path string, size int64) ([]byte, error) {
	if size > 16<<20 {
		return nil, fmt.Errorf("config blob of %d bytes is too large", size)
	}
	return os.ReadFile(path)
}
