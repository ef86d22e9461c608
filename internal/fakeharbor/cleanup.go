package fakeharbor

import (
	"context"
	"errors"

	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/internal/docker"
)

// Remove takes down everything the install created: docker-compose down wherever the install's
// compose files now are (an upgrade moves directories), any container left under Parent or
// mounting it, the harbor_harbor network when it did not exist before, every fake image that
// was not present before, and Parent itself. It runs once; later calls return the first result.
func (h *Harbor) Remove(ctx context.Context) error {
	h.removeOnce.Do(func() {
		h.removeErr = h.remove(ctx)
	})
	return h.removeErr
}

func (h *Harbor) remove(ctx context.Context) error {
	var errs []error
	cs, err := h.Containers(ctx)
	errs = append(errs, err)
	// Each dir is taken down by the tool that made its containers: real install.sh uses the
	// `docker compose` plugin when it works (2.5.4+), docker-compose otherwise; both label
	// their containers with their version.
	dirs := map[string]bool{h.Dir: false}
	for _, c := range cs {
		dir := c.Labels[composeWorkingDir]
		dirs[dir] = dirs[dir] || strings.HasPrefix(c.Labels[composeVersion], "2.")
	}
	for dir, plugin := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "docker-compose.yml")); err == nil {
			d := h.Docker
			r := &docker.Runner{DockerPath: d.DockerPath, ComposePath: d.ComposePath, Env: d.Env, Log: d.Log, ComposePlugin: plugin}
			_, err := r.Compose(ctx, dir, "down", "-t", "2")
			errs = append(errs, err)
		}
	}
	left, err := h.ownContainers(ctx)
	errs = append(errs, err)
	var ids []string
	for _, c := range left {
		ids = append(ids, c.ID)
	}
	errs = append(errs, h.Docker.RemoveContainers(ctx, ids...))
	if !h.netExisted {
		if nets, err := h.Docker.Networks(ctx, "name=harbor_harbor"); err == nil && slices.Contains(nets, "harbor_harbor") {
			errs = append(errs, h.Docker.RemoveNetworks(ctx, "harbor_harbor"))
		}
	}
	images, err := h.newFakeImages(ctx)
	errs = append(errs, err, h.Docker.RemoveImages(ctx, images...))
	errs = append(errs, os.RemoveAll(h.Parent))
	return errors.Join(errs...)
}

// composeVersion is the label docker-compose (1.x) and the docker compose plugin (2.x) put on
// every container they create: their own version.
const composeVersion = "com.docker.compose.version"

// ownContainers are the containers left that this install made: compose ones under Parent, and
// fake-image ones (prepare, migrator, a test's docker run) mounting something under Parent.
func (h *Harbor) ownContainers(ctx context.Context) ([]docker.Container, error) {
	cs, err := h.Docker.PS(ctx, "label="+LabelFake)
	if err != nil {
		return nil, err
	}
	var ours []docker.Container
	for _, c := range cs {
		if isUnder(c.Labels[composeWorkingDir], h.Parent) || slices.ContainsFunc(c.Mounts, func(m string) bool { return isUnder(m, h.Parent) }) {
			ours = append(ours, c)
		}
	}
	return ours, nil
}

// newFakeImages are the fake images (by every tag) that were not there when the install began.
func (h *Harbor) newFakeImages(ctx context.Context) ([]string, error) {
	images, err := h.Docker.Images(ctx, "label="+LabelFake)
	if err != nil {
		return nil, err
	}
	var refs []string
	for _, img := range images {
		if !h.preImages[img.Ref()] {
			refs = append(refs, img.Ref())
		}
	}
	return refs, nil
}

// Leftovers lists what Remove should have removed and is still there.
func (h *Harbor) Leftovers(ctx context.Context) ([]string, error) {
	var left []string
	cs, err := h.ownContainers(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		left = append(left, "container "+c.Name)
	}
	images, err := h.newFakeImages(ctx)
	if err != nil {
		return nil, err
	}
	for _, ref := range images {
		left = append(left, "image "+ref)
	}
	if !h.netExisted {
		nets, err := h.Docker.Networks(ctx, "name=harbor_harbor")
		if err != nil {
			return nil, err
		}
		if slices.Contains(nets, "harbor_harbor") {
			left = append(left, "network harbor_harbor")
		}
	}
	if _, err := os.Stat(h.Parent); err == nil {
		left = append(left, "directory "+h.Parent)
	}
	return left, nil
}

// AssertNoLeftovers removes the install now and fails t if anything of it remains.
func AssertNoLeftovers(t testing.TB, h *Harbor) {
	t.Helper()
	ctx := context.Background()
	if err := h.Remove(ctx); err != nil {
		t.Errorf("removing the fake harbor: %v", err)
	}
	left, err := h.Leftovers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("left behind: %s", strings.Join(left, ", "))
	}
}

func isUnder(path, dir string) bool {
	return path != "" && (path == dir || strings.HasPrefix(path, dir+string(filepath.Separator)))
}
