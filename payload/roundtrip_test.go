package payload

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func TestRoundTrip(t *testing.T) {
	for _, compression := range []string{"keep", "zstd", "keep-oci"} {
		t.Run(compression, func(t *testing.T) {
			images := testImages(t)
			opts := WriterOptions{Compression: compression}
			if compression == "keep-oci" {
				opts = WriterOptions{Compression: "keep", OCIManifests: true}
			}
			b, sum := writePayload(t, opts, images, testFiles)
			r := openPayload(t, b, sum)
			if err := r.Verify(bg, nil); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			dir := filepath.Join(t.TempDir(), "x")
			if err := r.Extract(bg, dir, nil); err != nil {
				t.Fatalf("Extract: %v", err)
			}
			checkInstallerFiles(t, dir)
			checkLayout(t, filepath.Join(dir, "images"), images, compression)
			checkReaderImages(t, r, images, compression)
			checkBlobsOnce(t, r.Manifest())
		})
	}
}

func checkInstallerFiles(t *testing.T, dir string) {
	t.Helper()
	for _, f := range testFiles {
		p := filepath.Join(dir, filepath.FromSlash(f.name))
		got, err := os.ReadFile(p)
		if err != nil || string(got) != f.data {
			t.Errorf("%s: %q, %v; want %q", f.name, got, err, f.data)
		}
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.name, fi.Mode().Perm(), f.mode)
		}
	}
}

// sameImage checks what must survive: the manifest digest with keep, the config digest (the
// image ID docker shows) always.
func sameImage(t *testing.T, ref string, got, want v1.Image, compression string) {
	t.Helper()
	validateImage(t, ref, got)
	gc, _ := got.ConfigName()
	wc, _ := want.ConfigName()
	if gc != wc {
		t.Errorf("%s: config digest %s, want %s", ref, gc, wc)
	}
	gd, _ := got.Digest()
	wd, _ := want.Digest()
	if compression == "keep" && gd != wd {
		t.Errorf("%s: manifest digest %s, want %s", ref, gd, wd)
	}
	m, _ := got.Manifest()
	if compression != "keep" && m.MediaType != types.OCIManifestSchema1 {
		t.Errorf("%s: manifest is %s, want OCI", ref, m.MediaType)
	}
	for _, l := range m.Layers {
		want := map[string]types.MediaType{"zstd": types.OCILayerZStd, "keep-oci": types.OCILayer}[compression]
		if want != "" && l.MediaType != want {
			t.Errorf("%s: layer %s is %s, want %s", ref, l.Digest, l.MediaType, want)
		}
	}
}

func checkLayout(t *testing.T, dir string, images []testImage, compression string) {
	t.Helper()
	p, err := layout.FromPath(dir)
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
	if len(im.Manifests) != len(images) {
		t.Fatalf("index has %d images, want %d", len(im.Manifests), len(images))
	}
	byRef := map[string]v1.Image{}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		byRef[d.Annotations["org.opencontainers.image.ref.name"]] = img
	}
	for _, want := range images {
		got, ok := byRef[want.ref]
		if !ok {
			t.Errorf("index has no %s", want.ref)
			continue
		}
		sameImage(t, want.ref, got, want.img, compression)
	}
}

func checkReaderImages(t *testing.T, r *Reader, images []testImage, compression string) {
	t.Helper()
	for _, want := range images {
		got, err := r.Image(want.ref)
		if err != nil {
			t.Fatal(err)
		}
		sameImage(t, want.ref, got, want.img, compression)
	}
}

// checkBlobsOnce proves that shared layers are stored once and that the crafted images do share.
func checkBlobsOnce(t *testing.T, m *Manifest) {
	t.Helper()
	uses := map[string]int{}
	for _, im := range m.Images {
		for _, l := range im.Layers {
			uses[l.Digest]++
		}
	}
	shared := 0
	for d, n := range uses {
		if n > 1 {
			shared++
		}
		count := 0
		for _, e := range m.Entries {
			if e.Path == blobPath(d) {
				count++
			}
		}
		if count != 1 {
			t.Errorf("blob %s stored %d times", d, count)
		}
	}
	if shared == 0 {
		t.Error("no layer is shared between images; the test images should share a base layer")
	}
}

func TestDeterministic(t *testing.T) {
	for _, compression := range []string{"keep", "zstd"} {
		images := testImages(t)
		a, _ := writePayload(t, WriterOptions{Compression: compression}, images, testFiles)
		b, _ := writePayload(t, WriterOptions{Compression: compression}, images, testFiles)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two payloads of the same inputs differ", compression)
		}
		checkHeaders(t, a)
	}
}

// checkHeaders proves the tar carries no builder-specific metadata and ends with manifest.yaml.
func checkHeaders(t *testing.T, b []byte) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	last := ""
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" || !hdr.ModTime.Equal(testBuildTime) {
			t.Errorf("%s: uid %d gid %d uname %q gname %q mtime %v", hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname, hdr.ModTime)
		}
		last = hdr.Name
	}
	if last != ManifestName {
		t.Errorf("last entry is %s, want %s", last, ManifestName)
	}
}

func TestOpenEntry(t *testing.T) {
	b, sum := writePayload(t, WriterOptions{Compression: "keep"}, nil, testFiles)
	r := openPayload(t, b, sum)
	for _, f := range append(testFiles, testFile{name: ManifestName}) {
		rc, err := r.OpenEntry(f.name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if f.name != ManifestName && string(got) != f.data {
			t.Errorf("%s: %q, want %q", f.name, got, f.data)
		}
		if f.name == ManifestName && !strings.Contains(string(got), "installer/install.sh") {
			t.Errorf("manifest.yaml read back: %q", got)
		}
	}
	if _, err := r.OpenEntry("installer/nope"); err == nil {
		t.Error("OpenEntry of a missing entry succeeded")
	}
}

// validateImage runs validate.Image. Its full mode reads layers with gzip only (go-containerregistry
// v0.22.1), so for images with zstd layers it runs in Fast mode and the layer checks it would
// have made are made here: digest and size of the stored blob, and the sha256 of its zstd
// decompression against both the layer's DiffID and the config's diff_ids.
func validateImage(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	zstdLayers := false
	for _, l := range m.Layers {
		zstdLayers = zstdLayers || l.MediaType == types.OCILayerZStd
	}
	if !zstdLayers {
		if err := validate.Image(img); err != nil {
			t.Errorf("%s: validate.Image: %v", ref, err)
		}
		return
	}
	if err := validate.Image(img, validate.Fast); err != nil {
		t.Errorf("%s: validate.Image(Fast): %v", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != len(m.Layers) || len(cf.RootFS.DiffIDs) != len(layers) {
		t.Fatalf("%s: %d layers, %d in manifest, %d diff IDs, %v", ref, len(layers), len(m.Layers), len(cf.RootFS.DiffIDs), err)
	}
	for i, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		digest, size, err := v1.SHA256(rc)
		rc.Close()
		if err != nil || digest != m.Layers[i].Digest || size != m.Layers[i].Size {
			t.Errorf("%s: layer %d: stored blob %s (%d bytes, %v), manifest says %s (%d)", ref, i, digest, size, err, m.Layers[i].Digest, m.Layers[i].Size)
		}
		uc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		diffID, _, err := v1.SHA256(uc)
		uc.Close()
		claimed, _ := l.DiffID()
		if err != nil || diffID != cf.RootFS.DiffIDs[i] || claimed != diffID {
			t.Errorf("%s: layer %d: uncompressed %s (%v), DiffID() %s, config %s", ref, i, diffID, err, claimed, cf.RootFS.DiffIDs[i])
		}
	}
}
