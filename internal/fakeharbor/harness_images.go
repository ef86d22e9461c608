package fakeharbor

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// LoadImages streams every image of a release into docker load (no file on disk) and checks
// each is then present.
func (h *Harbor) LoadImages(ctx context.Context, version string) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(h.builder.DockerArchive(version, pw)) }()
	_, err := h.Docker.Load(ctx, pr)
	pr.CloseWithError(err)
	if err != nil {
		return err
	}
	return h.RequireImages(ctx, version, release.Clair, release.Notary, release.Chartmuseum, release.Trivy, release.Exporter, release.Migrator)
}

// RequireImages fails unless every image an install of version with components runs, and its
// prepare image, is present locally: checked before anything that would otherwise pull.
func (h *Harbor) RequireImages(ctx context.Context, version string, components ...string) error {
	rel, err := release.Get(version)
	if err != nil {
		return err
	}
	refs := []string{}
	for _, img := range rel.Images {
		if img.Component == release.Core || img.Component == release.Prepare || slices.Contains(components, img.Component) {
			refs = append(refs, img.Ref())
		}
	}
	var missing []string
	for _, ref := range refs {
		ok, err := h.Docker.ImageExists(ctx, ref)
		if err != nil {
			return err
		}
		if !ok {
			missing = append(missing, ref)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("images missing, docker would try to pull them: %s", strings.Join(missing, ", "))
	}
	return nil
}

// checkImageTarball checks harbor.vX.tar.gz holds every image install.sh will run, before
// install.sh loads it: otherwise docker-compose up would try Docker Hub.
func (h *Harbor) checkImageTarball() error {
	refs, err := h.builder.Release(h.Version)
	if err != nil {
		return err
	}
	var want []string
	for _, r := range refs {
		want = append(want, r.Ref)
	}
	tags, err := tarballTags(filepath.Join(h.Dir, "harbor."+h.Version+".tar.gz"))
	if err != nil {
		return err
	}
	return requireTags(tags, want, "harbor."+h.Version+".tar.gz")
}

// CheckOfflineImages checks the offline installer of version carries every image of the release
// (so its install.sh and the migrator step never pull).
func (h *Harbor) CheckOfflineImages(version string) error {
	refs, err := h.builder.Release(version)
	if err != nil {
		return err
	}
	var want []string
	for _, r := range refs {
		want = append(want, r.Ref)
	}
	name, err := h.builder.ImagesTarGz(version)
	if err != nil {
		return err
	}
	tags, err := tarballTags(name)
	if err != nil {
		return err
	}
	return requireTags(tags, want, filepath.Base(name))
}

func requireTags(tags, want []string, archive string) error {
	for _, ref := range want {
		if !slices.Contains(tags, ref) {
			return fmt.Errorf("%s lacks %s: docker would pull it", archive, ref)
		}
	}
	return nil
}
