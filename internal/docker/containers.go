package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Mount is a bind mount (`-v Source:Target[:ro]`). Source must be an absolute host path:
// docker would create a missing one as an empty directory, the classic migrator failure, so
// Run refuses relative paths.
type Mount struct {
	Source, Target string
	ReadOnly       bool
}

// RunOptions is one `docker run`. The image must already be present: Run never pulls
// (`--pull never` is not in docker 17.06, so Run checks first).
type RunOptions struct {
	Image   string
	Args    []string // after the image: the entrypoint's arguments
	Name    string
	Mounts  []Mount
	Env     []string // KEY=VALUE
	Network string   // "none", "host", a network name; "" = docker's default
	User    string
	Labels  map[string]string
	Remove  bool      // --rm
	Stdin   io.Reader // attached with -i when set
	Stdout  io.Writer // in addition to the log
	Stderr  io.Writer // in addition to the log
}

// Run runs a container to completion. A non-zero exit is an *ExitError carrying the code.
func (r *Runner) Run(ctx context.Context, o RunOptions) error {
	ok, err := r.ImageExists(ctx, o.Image)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("running %s: %w (load it first: bundle never pulls)", o.Image, ErrNoSuchImage)
	}
	args, err := runArgs(o)
	if err != nil {
		return err
	}
	_, err = r.exec(ctx, call{bin: r.docker(), args: args, stdin: o.Stdin, stdout: o.Stdout, stderr: o.Stderr})
	return err
}

func runArgs(o RunOptions) ([]string, error) {
	args := []string{"run"}
	if o.Remove {
		args = append(args, "--rm")
	}
	if o.Stdin != nil {
		args = append(args, "-i")
	}
	if o.Name != "" {
		args = append(args, "--name", o.Name)
	}
	if o.Network != "" {
		args = append(args, "--network", o.Network)
	}
	if o.User != "" {
		args = append(args, "--user", o.User)
	}
	for _, e := range o.Env {
		args = append(args, "-e", e)
	}
	keys := make([]string, 0, len(o.Labels))
	for k := range o.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--label", k+"="+o.Labels[k])
	}
	for _, m := range o.Mounts {
		if !strings.HasPrefix(m.Source, "/") {
			return nil, fmt.Errorf("mount %q: the host path must be absolute, or docker creates an empty directory", m.Source)
		}
		v := m.Source + ":" + m.Target
		if m.ReadOnly {
			v += ":ro"
		}
		args = append(args, "-v", v)
	}
	return append(append(args, o.Image), o.Args...), nil
}

// Container is what bundle needs to know of a container.
type Container struct {
	ID       string
	Name     string // without the leading "/"
	Image    string // the reference it was created from ("goharbor/harbor-core:v1.10.0")
	ImageID  string // "sha256:..."
	State    string // "running", "exited", "restarting", "created", ...
	Health   string // "healthy", "unhealthy", "starting"; "" without a healthcheck
	ExitCode int
	Labels   map[string]string
	Mounts   []string // host paths mounted (bind sources, volume paths)
}

// PS lists containers, running or not, filtered as `docker ps --filter` does
// ("label=com.docker.compose.project.working_dir=/opt/harbor", "name=harbor-core").
func (r *Runner) PS(ctx context.Context, filters ...string) ([]Container, error) {
	args := []string{"ps", "-a", "-q", "--no-trunc"}
	for _, f := range filters {
		args = append(args, "--filter", f)
	}
	// A container can go between `ps` and `inspect` (compose down, another test's cleanup), and
	// inspect then fails for all of them: list again, a few times, before calling it an error.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var out []byte
		out, err = r.exec(ctx, call{bin: r.docker(), args: args, query: true})
		if err != nil {
			return nil, fmt.Errorf("listing containers: %w", err)
		}
		ids := strings.Fields(string(out))
		if len(ids) == 0 {
			return nil, nil
		}
		var cs []Container
		if cs, err = r.Inspect(ctx, ids...); err == nil {
			return cs, nil
		}
	}
	return nil, err
}

// Inspect returns the containers with the given IDs or names.
func (r *Runner) Inspect(ctx context.Context, ids ...string) ([]Container, error) {
	out, err := r.exec(ctx, call{bin: r.docker(), args: append([]string{"container", "inspect"}, ids...), query: true})
	if err != nil {
		return nil, fmt.Errorf("inspecting containers: %w", err)
	}
	var raw []struct {
		ID, Name, Image string
		Config          struct {
			Image  string
			Labels map[string]string
		}
		State struct {
			Status   string
			ExitCode int
			Health   *struct{ Status string }
		}
		Mounts []struct{ Source string }
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("reading docker inspect output: %w", err)
	}
	var cs []Container
	for _, c := range raw {
		health := ""
		if c.State.Health != nil {
			health = c.State.Health.Status
		}
		var mounts []string
		for _, m := range c.Mounts {
			mounts = append(mounts, m.Source)
		}
		cs = append(cs, Container{ID: c.ID, Name: strings.TrimPrefix(c.Name, "/"), Image: c.Config.Image, ImageID: c.Image,
			State: c.State.Status, Health: health, ExitCode: c.State.ExitCode, Labels: c.Config.Labels, Mounts: mounts})
	}
	return cs, nil
}

// Logs returns what a container printed (stdout and stderr), the last tail lines ("all" or "").
func (r *Runner) Logs(ctx context.Context, id, tail string) (string, error) {
	args := []string{"logs"}
	if tail != "" {
		args = append(args, "--tail", tail)
	}
	var combined strings.Builder
	_, err := r.exec(ctx, call{bin: r.docker(), args: append(args, id), stdout: &combined, stderr: &combined, query: true})
	if err != nil {
		return combined.String(), fmt.Errorf("reading logs of %s: %w", id, err)
	}
	return combined.String(), nil
}

// RemoveContainers force-removes containers (`docker rm -f`), running or not.
func (r *Runner) RemoveContainers(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := r.exec(ctx, call{bin: r.docker(), args: append([]string{"rm", "-f"}, ids...)}); err != nil {
		return fmt.Errorf("removing containers: %w", err)
	}
	return nil
}

// Networks lists network names, filtered as `docker network ls --filter` does.
func (r *Runner) Networks(ctx context.Context, filters ...string) ([]string, error) {
	args := []string{"network", "ls", "--format", "{{.Name}}"}
	for _, f := range filters {
		args = append(args, "--filter", f)
	}
	out, err := r.exec(ctx, call{bin: r.docker(), args: args, query: true})
	if err != nil {
		return nil, fmt.Errorf("listing networks: %w", err)
	}
	return strings.Fields(string(out)), nil
}

// RemoveNetworks removes networks by name.
func (r *Runner) RemoveNetworks(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	if _, err := r.exec(ctx, call{bin: r.docker(), args: append([]string{"network", "rm"}, names...)}); err != nil {
		return fmt.Errorf("removing networks: %w", err)
	}
	return nil
}
