package payload

import (
	"bytes"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ZstdImage returns img with every layer recompressed by ZstdLayer and the manifest rewritten
// (OCI media types, new layer digests and sizes). The config is byte for byte the same, so the
// image ID after `docker load` is unchanged. An image whose layers are all zstd already is
// returned as it is.
func ZstdImage(img v1.Image, level Level, dir string) (v1.Image, error) {
	level, err := level.normalize()
	if err != nil {
		return nil, err
	}
	return zstdImageCached(img, level, dir, map[v1.Hash]*zstdLayer{})
}

// zstdImageCached is ZstdImage with a cache by diff ID, so that a layer shared by several images
// (or repeated in one) is compressed once.
func zstdImageCached(img v1.Image, level Level, dir string, cache map[v1.Hash]*zstdLayer) (v1.Image, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading image manifest: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading image layers: %w", err)
	}
	if len(layers) != len(m.Layers) {
		return nil, fmt.Errorf("image has %d layers but its manifest lists %d", len(layers), len(m.Layers))
	}
	m = m.DeepCopy()
	out := &rewrittenImage{layers: make([]v1.Layer, len(layers))}
	changed := false
	for i, l := range layers {
		if m.Layers[i].MediaType == types.OCILayerZStd {
			out.layers[i] = l
			continue
		}
		z, err := cachedCompress(l, level, dir, cache)
		if err != nil {
			return nil, err
		}
		changed = true
		out.layers[i] = z
		m.Layers[i] = v1.Descriptor{MediaType: types.OCILayerZStd, Size: z.size, Digest: z.digest, Annotations: m.Layers[i].Annotations}
	}
	if !changed {
		return img, nil
	}
	return out.finish(img, m)
}

func cachedCompress(l v1.Layer, level Level, dir string, cache map[v1.Hash]*zstdLayer) (*zstdLayer, error) {
	diffID, err := l.DiffID()
	if err != nil {
		return nil, fmt.Errorf("reading layer diff ID: %w", err)
	}
	if z, ok := cache[diffID]; ok {
		return z, nil
	}
	z, err := compressLayer(l, level, dir)
	if err != nil {
		return nil, err
	}
	cache[diffID] = z
	return z, nil
}

// finish sets the OCI media types and serializes the manifest.
func (z *rewrittenImage) finish(img v1.Image, m *v1.Manifest) (v1.Image, error) {
	var err error
	if z.rawConfig, err = img.RawConfigFile(); err != nil {
		return nil, fmt.Errorf("reading image config: %w", err)
	}
	z.rawManifest, err = EncodeOCIManifest(m)
	z.mediaType = types.OCIManifestSchema1
	return z, err
}

// EncodeOCIManifest turns m into an OCI manifest (Docker's schema 2 has no zstd layer type) and
// serializes it the one way the payload does, so that the same layers give the same digest
// whoever rewrites the manifest.
func EncodeOCIManifest(m *v1.Manifest) ([]byte, error) {
	m.MediaType = types.OCIManifestSchema1
	if m.Config.MediaType == types.DockerConfigJSON {
		m.Config.MediaType = types.OCIConfigJSON
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encoding image manifest: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// NewImage is an image made of manifest and config bytes and the given layer values, kept as
// they are (not partial's wrappers), so that the writer sees the uncompressed sizes they recorded.
// The builder assembles its cached images with it.
func NewImage(mediaType types.MediaType, rawManifest, rawConfig []byte, layers []v1.Layer) v1.Image {
	return &rewrittenImage{mediaType: mediaType, rawManifest: rawManifest, rawConfig: rawConfig, layers: layers}
}

// rewrittenImage is an image whose manifest was rewritten (layers recompressed, or media types
// made OCI) around the same config; it keeps the layer values themselves (not partial's
// wrappers) so that the writer sees the uncompressed sizes recompression recorded.
type rewrittenImage struct {
	mediaType              types.MediaType
	rawConfig, rawManifest []byte
	layers                 []v1.Layer
}

var _ v1.Image = (*rewrittenImage)(nil)

func (z *rewrittenImage) Layers() ([]v1.Layer, error) {
	return append([]v1.Layer(nil), z.layers...), nil
}
func (z *rewrittenImage) MediaType() (types.MediaType, error) { return z.mediaType, nil }
func (z *rewrittenImage) Size() (int64, error)                { return int64(len(z.rawManifest)), nil }
func (z *rewrittenImage) ConfigName() (v1.Hash, error)        { return partial.ConfigName(z) }
func (z *rewrittenImage) ConfigFile() (*v1.ConfigFile, error) { return partial.ConfigFile(z) }
func (z *rewrittenImage) RawConfigFile() ([]byte, error)      { return z.rawConfig, nil }
func (z *rewrittenImage) Digest() (v1.Hash, error)            { return partial.Digest(z) }
func (z *rewrittenImage) Manifest() (*v1.Manifest, error)     { return partial.Manifest(z) }
func (z *rewrittenImage) RawManifest() ([]byte, error)        { return z.rawManifest, nil }
func (z *rewrittenImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	return z.find(h, v1.Layer.DiffID)
}
func (z *rewrittenImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	if cn, err := z.ConfigName(); err == nil && cn == h {
		return partial.ConfigLayer(z)
	}
	return z.find(h, v1.Layer.Digest)
}

func (z *rewrittenImage) find(h v1.Hash, key func(v1.Layer) (v1.Hash, error)) (v1.Layer, error) {
	for _, l := range z.layers {
		if k, err := key(l); err == nil && k == h {
			return l, nil
		}
	}
	return nil, fmt.Errorf("image has no layer %s", h)
}

// ociMediaTypes maps Docker layer media types to their OCI equivalents: same bytes, other name.
var ociMediaTypes = map[types.MediaType]types.MediaType{
	types.DockerLayer:             types.OCILayer,
	types.DockerUncompressedLayer: types.OCIUncompressedLayer,
}

// ociImage returns img with an OCI manifest: Docker media types renamed, every blob (config and
// layers) byte for byte the same, so the image ID is unchanged but the manifest digest is not.
// skopeo 1.9 finds only OCI manifests in an OCI layout's index.
func ociImage(img v1.Image) (v1.Image, error) {
	mt, err := img.MediaType()
	if err != nil {
		return nil, fmt.Errorf("reading image media type: %w", err)
	}
	if mt == types.OCIManifestSchema1 {
		return img, nil
	}
	if mt != types.DockerManifestSchema2 {
		return nil, fmt.Errorf("image manifest type %s cannot be stored (want Docker schema 2 or OCI)", mt)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading image manifest: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading image layers: %w", err)
	}
	m = m.DeepCopy()
	for i := range m.Layers {
		if oci, ok := ociMediaTypes[m.Layers[i].MediaType]; ok {
			m.Layers[i].MediaType = oci
		}
	}
	return (&rewrittenImage{layers: layers}).finish(img, m)
}
