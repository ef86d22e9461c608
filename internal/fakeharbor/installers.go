package fakeharbor

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/harborbundle/bundle/internal/fakeharbor/installer"
	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// InstallerPath is where Harbor publishes a release's installer, relative to the download
// site's root (https://github.com/): the same path on the fake's installer server.
func InstallerPath(version string, offline bool) string {
	kind := "online"
	if offline {
		kind = "offline"
	}
	return fmt.Sprintf("/goharbor/harbor/releases/download/%s/harbor-%s-installer-%s.tgz", version, kind, version)
}

// OnlineInstaller writes harbor-online-installer-vX.tgz: the directory harbor/ with the
// installer's files and no images.
func (b *Builder) OnlineInstaller(version string, w io.Writer) error {
	r, err := release.Get(version)
	if err != nil {
		return err
	}
	return b.writeInstaller(w, r.Version, "")
}

// OfflineInstaller writes harbor-offline-installer-vX.tgz: the online installer's files plus
// harbor/harbor.vX.tar.gz, one docker save of every image of the release, gzipped.
func (b *Builder) OfflineInstaller(version string, w io.Writer) error {
	name, err := b.OfflineInstallerFile(version)
	if err != nil {
		return err
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// OfflineInstallerFile returns the path of the offline installer in the cache, making it first
// when needed (for the large size this takes a while: a docker save of ~1 GB, gzipped twice).
func (b *Builder) OfflineInstallerFile(version string) (string, error) {
	r, err := release.Get(version)
	if err != nil {
		return "", err
	}
	images, err := b.ImagesTarGz(r.Version)
	if err != nil {
		return "", err
	}
	key, err := b.installerKey(r.Version, images)
	if err != nil {
		return "", err
	}
	out := filepath.Join(b.opts.Dir, "installers", key[:24], fmt.Sprintf("harbor-offline-installer-%s.tgz", r.Version))
	return out, cachedFile(out, func(w io.Writer) error { return b.writeInstaller(w, r.Version, images) })
}

// ImagesTarGz returns the path of harbor.vX.tar.gz (docker save of every image, gzip) in the
// cache, making it first when needed.
func (b *Builder) ImagesTarGz(version string) (string, error) {
	refs, err := b.Release(version)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, ref := range refs {
		d, err := ref.Image.Digest()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %s\n", ref.Ref, d)
	}
	key := hex.EncodeToString(h.Sum(nil))
	r, _ := release.Get(version)
	out := filepath.Join(b.opts.Dir, "images", key[:24], "harbor."+r.Version+".tar.gz")
	return out, cachedFile(out, func(w io.Writer) error {
		zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
		if err != nil {
			return err
		}
		if err := writeDockerArchive(refs, zw); err != nil {
			return err
		}
		return zw.Close()
	})
}

func (b *Builder) installerKey(version, images string) (string, error) {
	files, err := b.installerFiles(version)
	if err != nil {
		return "", fmt.Errorf("reading installer files of %s: %w", version, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", version, images)
	for _, f := range files {
		fmt.Fprintf(h, "%s %o %d\x00", f.Name, f.Mode, len(f.Data))
		h.Write(f.Data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// cachedFile makes name with write unless it exists; the file appears complete or not at all.
func cachedFile(name string, write func(io.Writer) error) error {
	if _, err := os.Stat(name); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(name), "tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(name), err)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// writeInstaller writes the .tgz: harbor/ and its files, sorted, then the image tarball when
// images is a path. Fixed times and owners keep the bytes the same from run to run.
func (b *Builder) writeInstaller(w io.Writer, version, images string) error {
	files, err := b.installerFiles(version)
	if err != nil {
		return fmt.Errorf("reading installer files of %s: %w", version, err)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "harbor/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch}); err != nil {
		return err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	for _, f := range files {
		name := "harbor/" + strings.TrimPrefix(f.Name, "harbor/")
		hdr := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: int64(f.Mode) & 0o7777, Size: int64(len(f.Data)), ModTime: epoch}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return err
		}
	}
	if images != "" {
		if err := addFile(tw, "harbor/harbor."+version+".tar.gz", images); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

func addFile(tw *tar.Writer, name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: fi.Size(), ModTime: epoch}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// installerFiles are a release's installer files, with Harbor's real scripts over the fake
// ones when Options.RealInstallers says where they are.
func (b *Builder) installerFiles(version string) ([]installer.File, error) {
	if r, err := release.Get(version); err == nil && r.Is2x() {
		root, err := b.harborRealRoot()
		if err != nil {
			return nil, err
		}
		return installer.Files2x(root, r)
	}
	files, err := installer.Files(version)
	if err != nil || b.opts.RealInstallers == "" {
		return files, err
	}
	return installer.OverlayReal(files, filepath.Join(b.opts.RealInstallers, version))
}

// installerFiles returns a release's installer files by name.
func installerFiles(version string) (map[string][]byte, error) {
	files, err := installer.Files(version)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, f := range files {
		out[f.Name] = f.Data
	}
	return out, nil
}
