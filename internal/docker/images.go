package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Load streams a docker-archive (docker save format) from r into `docker load` and returns the
// references it loaded ("goharbor/harbor-core:v1.10.0", or "sha256:..." for untagged images).
func (r *Runner) Load(ctx context.Context, archive io.Reader) ([]string, error) {
	out, err := r.exec(ctx, call{bin: r.docker(), args: []string{"load"}, stdin: archive})
	if err != nil {
		return nil, fmt.Errorf("loading images: %w", err)
	}
	var loaded []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		for _, prefix := range []string{"Loaded image: ", "Loaded image ID: "} {
			if ref, ok := strings.CutPrefix(line, prefix); ok {
				loaded = append(loaded, strings.TrimSpace(ref))
			}
		}
	}
	return loaded, nil
}

// ImageInspect returns the image ID ("sha256:<config digest>") of a local image;
// the error wraps ErrNoSuchImage when it is absent.
func (r *Runner) ImageInspect(ctx context.Context, ref string) (string, error) {
	out, err := r.exec(ctx, call{bin: r.docker(), args: []string{"image", "inspect", "--format", "{{.Id}}", ref}, query: true})
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "no such image") {
			return "", fmt.Errorf("inspecting image %s: %w", ref, ErrNoSuchImage)
		}
		return "", fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// ImageExists tells whether ref is present locally. It never pulls.
func (r *Runner) ImageExists(ctx context.Context, ref string) (bool, error) {
	_, err := r.ImageInspect(ctx, ref)
	if err == nil {
		return true, nil
	}
	if isNoSuchImage(err) {
		return false, nil
	}
	return false, err
}

// Image is one line of `docker images`.
type Image struct {
	ID         string // "sha256:..."
	Repository string // "goharbor/harbor-core"; "<none>" when untagged
	Tag        string
}

// Ref is repository:tag, or the ID for an untagged image.
func (i Image) Ref() string {
	if i.Repository == "<none>" || i.Tag == "<none>" {
		return i.ID
	}
	return i.Repository + ":" + i.Tag
}

// Images lists local images, filtered as `docker images --filter` does ("label=k=v",
// "reference=goharbor/*", "dangling=true"); a reference pattern alone is also accepted as in
// `docker images goharbor/harbor-core`.
func (r *Runner) Images(ctx context.Context, filters ...string) ([]Image, error) {
	args := []string{"images", "--no-trunc", "--format", "{{json .}}"}
	for _, f := range filters {
		args = append(args, "--filter", f)
	}
	out, err := r.exec(ctx, call{bin: r.docker(), args: args, query: true})
	if err != nil {
		return nil, fmt.Errorf("listing images: %w", err)
	}
	var images []Image
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var row struct{ ID, Repository, Tag string }
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			return nil, fmt.Errorf("reading docker images output %q: %w", line, err)
		}
		images = append(images, Image{ID: row.ID, Repository: row.Repository, Tag: row.Tag})
	}
	return images, nil
}

// RemoveImages untags and removes refs (`docker image rm`, never forced: an image a container
// still uses is an error, remove the container first); refs that are already absent are not an
// error, so cleanups can be repeated.
func (r *Runner) RemoveImages(ctx context.Context, refs ...string) error {
	if len(refs) == 0 {
		return nil
	}
	_, err := r.exec(ctx, call{bin: r.docker(), args: append([]string{"image", "rm"}, refs...)})
	if err != nil && !isNoSuchImage(err) {
		return fmt.Errorf("removing images: %w", err)
	}
	if err != nil {
		// Some were absent; docker still removed the others, but make sure.
		for _, ref := range refs {
			if ok, _ := r.ImageExists(ctx, ref); ok {
				return fmt.Errorf("removing image %s: %w", ref, err)
			}
		}
	}
	return nil
}

// isNoSuchImage recognises docker's "No such image" (also in "Error response from daemon: ...").
func isNoSuchImage(err error) bool {
	return err != nil && (errors.Is(err, ErrNoSuchImage) || strings.Contains(strings.ToLower(err.Error()), "no such image"))
}
