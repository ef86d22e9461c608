package fakeharbor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// Options configures a Builder (and Start).
type Options struct {
	// Size is the generated content per release; the default is SizeTiny.
	Size Size
	// Versions are the releases to serve (Start); the default is release.Defaults() (the four
	// 1.x releases the 1.x tests use; building all of release.Versions() would take minutes).
	Versions []string
	// Dir is the cache for the binary, layers and offline installers; the default is
	// DefaultCacheDir(). It is content-addressed: any number of processes may share it.
	Dir string
	// Binary is a prebuilt harbord for linux/amd64; the default builds it with BuildBinary.
	Binary string
	// RealInstallers, when set, is a directory like ../shared/harbor-real/installer holding one
	// folder per release (v1.9.4/...): every installer then carries Harbor's real install.sh,
	// prepare and common.sh over the fake ones (installer.OverlayReal).
	RealInstallers string
	// HarborReal is Harbor's real files (../shared/harbor-real); the default is harborreal.Root().
	// 2.x releases need it: their prepare image carries the real migration templates and their
	// installers the real install.sh, prepare, common.sh and harbor.yml.tmpl.
	HarborReal string
	// Content is the mix of the images' files: ContentSynthetic (the default) or ContentDebian
	// (files of real Debian packages, fetched with apt-get into Dir/debian; content_debian.go).
	Content string
}

// DefaultCacheDir is $BUNDLE_FAKEHARBOR_CACHE, else <user cache dir>/bundle-fakeharbor.
func DefaultCacheDir() string {
	if d := os.Getenv("BUNDLE_FAKEHARBOR_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "bundle-fakeharbor")
}

// ImageRef is one image of a release under its real reference.
type ImageRef struct {
	Ref   string        // "goharbor/harbor-core:v1.10.0"
	Info  release.Image // what the release table says of it
	Image v1.Image
}

// Builder makes the fake releases' images and installers. Layers are generated on first use
// into the cache directory; images are kept per version once built. Safe for concurrent use.
type Builder struct {
	opts      Options
	binarySum string
	fill      contentFill // the files of the content mix
	packages  []string    // package=version of the Debian mix

	mu       sync.Mutex
	releases map[string][]ImageRef
}

// NewBuilder prepares a Builder: it applies the defaults and builds (or finds) the binary.
func NewBuilder(ctx context.Context, opts Options) (*Builder, error) {
	if opts.Size == 0 {
		opts.Size = SizeTiny
	}
	if opts.Size < 0 {
		return nil, fmt.Errorf("size %d: must be positive", opts.Size)
	}
	if len(opts.Versions) == 0 {
		opts.Versions = release.Defaults()
	}
	opts.Versions = append([]string(nil), opts.Versions...)
	for i, v := range opts.Versions {
		r, err := release.Get(v)
		if err != nil {
			return nil, err
		}
		opts.Versions[i] = r.Version
	}
	if opts.Dir == "" {
		opts.Dir = DefaultCacheDir()
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating cache dir: %w", err)
	}
	if opts.Binary == "" {
		bin, err := BuildBinary(ctx, opts.Dir)
		if err != nil {
			return nil, err
		}
		opts.Binary = bin
	}
	sum, err := fileSHA256(opts.Binary)
	if err != nil {
		return nil, fmt.Errorf("reading harbord binary: %w", err)
	}
	fill, packages, err := contentFor(ctx, opts.Content, opts.Dir)
	if err != nil {
		return nil, err
	}
	return &Builder{opts: opts, binarySum: sum, fill: fill, packages: packages, releases: map[string][]ImageRef{}}, nil
}

// Packages lists "package=version" of the Debian packages the content is made of (none for the
// synthetic mix): the same list gives the same images.
func (b *Builder) Packages() []string { return append([]string(nil), b.packages...) }

// Options returns the options in effect, defaults applied.
func (b *Builder) Options() Options { return b.opts }

// Release returns every image of a release (optional components, prepare and migrator
// included), in the order of the release table.
func (b *Builder) Release(version string) ([]ImageRef, error) {
	r, err := release.Get(version)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if refs, ok := b.releases[r.Version]; ok {
		return refs, nil
	}
	refs, err := b.buildRelease(r)
	if err != nil {
		return nil, fmt.Errorf("building fake release %s: %w", r.Version, err)
	}
	b.releases[r.Version] = refs
	return refs, nil
}

// buildRelease generates the layers (in parallel, one per core at most) and assembles images.
func (b *Builder) buildRelease(r *release.Release) ([]ImageRef, error) {
	base, bin := baseLayerSpec(r, b.opts.Size, b.fill), binaryLayerSpec(b.opts.Binary, b.binarySum)
	specs := []*layerSpec{base, bin}
	for _, img := range r.Images {
		specs = append(specs, imageLayerSpec(r, img, b.opts.Size, b.fill))
	}
	migrationsAt := -1 // index in specs of the 2.x prepare's migrations layer
	if r.Is2x() {
		root, err := b.harborRealRoot()
		if err != nil {
			return nil, err
		}
		m, err := migrationsLayerSpec(root, r)
		if err != nil {
			return nil, err
		}
		migrationsAt = len(specs)
		specs = append(specs, m)
	}
	layers := make([]*fileLayer, len(specs))
	errs := make([]error, len(specs))
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			layers[i], errs[i] = cachedLayer(b.opts.Dir, s)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	var refs []ImageRef
	for i, info := range r.Images {
		var migrations *fileLayer
		if info.Role == release.Prepare && migrationsAt >= 0 {
			migrations = layers[migrationsAt]
		}
		img, err := assemble(r, info, layers[0], layers[1], layers[2+i], migrations)
		if err != nil {
			return nil, fmt.Errorf("assembling %s: %w", info.Ref(), err)
		}
		refs = append(refs, ImageRef{Ref: info.Ref(), Info: info, Image: img})
	}
	return refs, nil
}

// ImageSize is the sum of an image's compressed layer sizes, as a registry reports it.
func ImageSize(img v1.Image) (int64, error) {
	layers, err := img.Layers()
	if err != nil {
		return 0, err
	}
	var total int64
	for _, l := range layers {
		n, err := l.Size()
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}
