package builder

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/harborbundle/bundle/internal/fakeharbor/release"
	"github.com/harborbundle/bundle/progress"
)

// TestBuildFromFakeHarbor builds 1.10.0 from the fake Harbor's registry and installer, keeping
// the layers and recompressing them, and checks the bundle against what the registry serves.
func TestBuildFromFakeHarbor(t *testing.T) {
	srv := fakeHarbor(t)
	proxy := startProxy(t, "http://"+srv.RegistryAddr)
	rel, err := release.Get("v1.10.0")
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	for _, compression := range []string{"keep", "zstd"} {
		t.Run(compression, func(t *testing.T) {
			opts := testOptions(t, srv, proxy, cache)
			opts.Compression = compression
			res, err := Build(context.Background(), opts)
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			pr := openBundle(t, res.File)
			m := pr.Manifest()
			if m.Release != "v1.10.0" || res.Release != "v1.10.0" {
				t.Errorf("release %q, result %q", m.Release, res.Release)
			}
			want := []string{"v1.8.0", "v1.8.1", "v1.8.2", "v1.8.3", "v1.8.4", "v1.8.5", "v1.8.6", "v1.9.0", "v1.9.1", "v1.9.2", "v1.9.3", "v1.9.4"}
			if !slices.Equal(m.FromVersions, want) {
				t.Errorf("from-versions %v, want %v", m.FromVersions, want)
			}
			if !slices.Equal(m.Components, []string{"core", "notary", "clair", "chartmuseum"}) {
				t.Errorf("components %v", m.Components)
			}
			if m.Migration.Image != "goharbor/harbor-migrator:v1.10.0" || !slices.Equal(m.Migration.Args, []string{"--cfg", "up"}) {
				t.Errorf("migration %+v", m.Migration)
			}
			if m.Compression.Algorithm != compression {
				t.Errorf("compression %+v", m.Compression)
			}
			if m.Installer.Source != opts.Installer || len(m.Installer.SHA256) != 64 {
				t.Errorf("installer %+v", m.Installer)
			}
			checkInstallerEntries(t, m.Entries)
			checkImages(t, opts.Registry, rel, pr.Manifest().Images, compression)
			checkLayout(t, pr, len(rel.Images))
			sums, err := os.ReadFile(res.ChecksumFile)
			if err != nil || !strings.HasPrefix(string(sums), fileSHA(t, res.File)+"  "+filepath.Base(res.File)) {
				t.Errorf("checksum file %q (%v) does not match the .run", sums, err)
			}
		})
	}
}

func checkInstallerEntries(t *testing.T, entries []payloadEntry) {
	t.Helper()
	var installer []string
	for _, e := range entries {
		if strings.HasSuffix(e.Path, ".tar.gz") {
			t.Errorf("payload carries %s: the image tarball must never be in a bundle", e.Path)
		}
		if strings.HasPrefix(e.Path, "installer/") {
			installer = append(installer, e.Path)
			if (e.Path == "installer/install.sh" || e.Path == "installer/prepare") && e.Mode&0o111 == 0 {
				t.Errorf("%s lost its executable mode (%o)", e.Path, e.Mode)
			}
		}
	}
	want := []string{"installer/LICENSE", "installer/common.sh", "installer/harbor.yml", "installer/install.sh", "installer/prepare"}
	slices.Sort(installer)
	if !slices.Equal(installer, want) {
		t.Errorf("installer entries %v, want %v", installer, want)
	}
}

// checkImages compares the bundle's images with the release table of the fake and with the
// digests the registry serves.
func checkImages(t *testing.T, registry string, rel *release.Release, got []payloadImage, compression string, opts ...remote.Option) {
	t.Helper()
	byRef := map[string]payloadImage{}
	for _, img := range got {
		byRef[img.Ref] = img
	}
	if len(got) != len(rel.Images) {
		t.Errorf("bundle has %d images, the release %d", len(got), len(rel.Images))
	}
	for _, want := range rel.Images {
		img, ok := byRef[want.Ref()]
		if !ok {
			t.Errorf("bundle lacks %s", want.Ref())
			continue
		}
		ref, err := name.ParseReference(registry + "/" + want.Ref())
		if err != nil {
			t.Fatal(err)
		}
		served, err := remote.Image(ref, opts...)
		if err != nil {
			t.Fatal(err)
		}
		digest, _ := served.Digest()
		config, _ := served.ConfigName()
		if img.ConfigDigest != config.String() {
			t.Errorf("%s: config %s, registry serves %s", want.Ref(), img.ConfigDigest, config)
		}
		if compression == "keep" && img.ManifestDigest != digest.String() {
			t.Errorf("%s: manifest %s, registry serves %s", want.Ref(), img.ManifestDigest, digest)
		}
		if compression == "zstd" && img.ManifestDigest == digest.String() {
			t.Errorf("%s: manifest unchanged by recompression", want.Ref())
		}
		if wantComp := want.Component; img.Component != wantComp {
			t.Errorf("%s: component %q, want %q", want.Ref(), img.Component, wantComp)
		}
	}
}

// checkLayout extracts the payload and validates every image of its OCI layout.
func checkLayout(t *testing.T, pr payloadReader, n int) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "x")
	if err := pr.Extract(context.Background(), dir, progress.Discard); err != nil {
		t.Fatalf("extracting: %v", err)
	}
	p, err := layout.FromPath(filepath.Join(dir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != n {
		t.Errorf("index lists %d images, want %d", len(im.Manifests), n)
	}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		validateImage(t, d.Annotations["org.opencontainers.image.ref.name"], img)
	}
}

// validateImage runs validate.Image. go-containerregistry v0.22.1 reads layers with gzip only
// when it validates them, so for zstd layers it runs in Fast mode and the layer checks are made
// here: the blob's digest and size, and the sha256 of its decompression against the config.
func validateImage(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(m.Layers, func(d v1.Descriptor) bool { return d.MediaType == types.OCILayerZStd }) {
		if err := validate.Image(img); err != nil {
			t.Errorf("%s: %v", ref, err)
		}
		return
	}
	if err := validate.Image(img, validate.Fast); err != nil {
		t.Errorf("%s: %v", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != len(cf.RootFS.DiffIDs) {
		t.Fatalf("%s: %d layers, %d diff IDs (%v)", ref, len(layers), len(cf.RootFS.DiffIDs), err)
	}
	for i, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		digest, size, err := v1.SHA256(rc)
		rc.Close()
		if err != nil || digest != m.Layers[i].Digest || size != m.Layers[i].Size {
			t.Errorf("%s: layer %d is %s (%d bytes, %v), manifest says %s (%d)", ref, i, digest, size, err, m.Layers[i].Digest, m.Layers[i].Size)
		}
		uc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		diffID, _, err := v1.SHA256(uc)
		uc.Close()
		if err != nil || diffID != cf.RootFS.DiffIDs[i] {
			t.Errorf("%s: layer %d decompresses to %s (%v), config says %s", ref, i, diffID, err, cf.RootFS.DiffIDs[i])
		}
	}
}
