package fakeharbor

import (
	"archive/tar"
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
)

// DockerArchive writes every image of a release as one `docker save` archive: layers
// uncompressed as <diffID>/layer.tar, each shared layer once, configs as <hex>.json,
// manifest.json and repositories. This is the floor of the benchmarks (docker load of a plain
// local tar) and, gzipped, the harbor.vX.tar.gz of the offline installer.
//
// It does not use tarball.MultiRefWrite: that writes layers gzipped (docker save does not) and
// in map order (so the bytes would change from run to run).
func (b *Builder) DockerArchive(version string, w io.Writer) error {
	refs, err := b.Release(version)
	if err != nil {
		return err
	}
	return writeDockerArchive(refs, w)
}

type saveManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func writeDockerArchive(refs []ImageRef, w io.Writer) error {
	sorted := append([]ImageRef(nil), refs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Ref < sorted[j].Ref })
	tw := tar.NewWriter(w)
	written := map[string]bool{}
	var manifest []saveManifest
	repositories := map[string]map[string]string{}
	for _, ref := range sorted {
		m, top, err := writeSavedImage(tw, ref, written)
		if err != nil {
			return fmt.Errorf("saving %s: %w", ref.Ref, err)
		}
		manifest = append(manifest, m)
		if repositories[ref.Info.Repository] == nil {
			repositories[ref.Info.Repository] = map[string]string{}
		}
		repositories[ref.Info.Repository][ref.Info.Tag] = top
	}
	mb, _ := json.Marshal(manifest)
	rb, _ := json.Marshal(repositories) // encoding/json sorts map keys
	if err := writeTarFile(tw, "manifest.json", mb); err != nil {
		return err
	}
	if err := writeTarFile(tw, "repositories", rb); err != nil {
		return err
	}
	return tw.Close()
}

// writeSavedImage writes one image's config and the layers not yet written; it returns the
// manifest entry and the name of its top layer.
func writeSavedImage(tw *tar.Writer, ref ImageRef, written map[string]bool) (saveManifest, string, error) {
	m := saveManifest{RepoTags: []string{ref.Ref}}
	cfgName, err := ref.Image.ConfigName()
	if err != nil {
		return m, "", err
	}
	cfg, err := ref.Image.RawConfigFile()
	if err != nil {
		return m, "", err
	}
	m.Config = cfgName.Hex + ".json"
	if !written[m.Config] {
		written[m.Config] = true
		if err := writeTarFile(tw, m.Config, cfg); err != nil {
			return m, "", err
		}
	}
	layers, err := ref.Image.Layers()
	if err != nil {
		return m, "", err
	}
	top := ""
	for _, l := range layers {
		diffID, err := l.DiffID()
		if err != nil {
			return m, "", err
		}
		top = diffID.Hex
		name := diffID.Hex + "/layer.tar"
		m.Layers = append(m.Layers, name)
		if written[name] {
			continue
		}
		written[name] = true
		if err := writeUncompressedLayer(tw, diffID.Hex, l); err != nil {
			return m, "", err
		}
	}
	return m, top, nil
}

func writeUncompressedLayer(tw *tar.Writer, dir string, l v1.Layer) error {
	if err := tw.WriteHeader(&tar.Header{Name: dir + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch}); err != nil {
		return err
	}
	if err := writeTarFile(tw, dir+"/VERSION", []byte("1.0")); err != nil {
		return err
	}
	size, err := uncompressedSize(l)
	if err != nil {
		return err
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	hdr := &tar.Header{Name: dir + "/layer.tar", Typeflag: tar.TypeReg, Mode: 0o644, Size: size, ModTime: epoch}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.Copy(tw, rc); err != nil {
		return fmt.Errorf("copying layer %s: %w", dir, err)
	}
	return nil
}

// uncompressedSize is needed before the tar header: cached layers know it; others cost a pass.
func uncompressedSize(l v1.Layer) (int64, error) {
	if s, ok := l.(interface{ UncompressedSize() int64 }); ok {
		return s.UncompressedSize(), nil
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(io.Discard, rc)
}

func writeTarFile(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data)), ModTime: epoch}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// tarballTags lists the image references in a gzipped docker save archive (its manifest.json).
func tarballTags(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("reading %s: no manifest.json: %w", name, err)
		}
		if hdr.Name != "manifest.json" {
			continue
		}
		var m []saveManifest
		if err := json.NewDecoder(tr).Decode(&m); err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		var tags []string
		for _, img := range m {
			tags = append(tags, img.RepoTags...)
		}
		return tags, nil
	}
}
