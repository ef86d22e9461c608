package upgrade

import (
	"context"
	"io"
	"strconv"

	"github.com/harborbundle/bundle/internal/docker"
)

// NewDockerEngine is the Engine of the real docker and docker-compose CLIs; every command line
// and its output goes to log (nil discards).
func NewDockerEngine(log io.Writer) Engine {
	return &dockerEngine{r: &docker.Runner{Log: log}, plugin: &docker.Runner{Log: log, ComposePlugin: true}}
}

// dockerEngine runs everything through r; compose commands for the plugin through plugin (a
// Runner holds a mutex and cannot be copied per call).
type dockerEngine struct{ r, plugin *docker.Runner }

func (e *dockerEngine) Version(ctx context.Context) (string, error) { return e.r.Version(ctx) }

func (e *dockerEngine) ComposeVersion(ctx context.Context) (string, error) {
	return e.r.ComposeVersion(ctx)
}

// RootDir asks the engine when internal/docker can; docker's default otherwise.
func (e *dockerEngine) RootDir(ctx context.Context) (string, error) {
	if rd, ok := any(e.r).(interface {
		RootDir(context.Context) (string, error)
	}); ok {
		return rd.RootDir(ctx)
	}
	return "/var/lib/docker", nil
}

func (e *dockerEngine) Containers(ctx context.Context, labels ...string) ([]Container, error) {
	var filters []string
	for _, l := range labels {
		filters = append(filters, "label="+l)
	}
	cs, err := e.r.PS(ctx, filters...)
	if err != nil {
		return nil, err
	}
	out := make([]Container, 0, len(cs))
	for _, c := range cs {
		out = append(out, Container{ID: c.ID, Name: c.Name, Image: c.Image, State: c.State, Health: c.Health, Labels: c.Labels})
	}
	return out, nil
}

func (e *dockerEngine) ImageIDs(ctx context.Context, refs []string) (map[string]string, error) {
	imgs, err := e.r.Images(ctx)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, r := range refs {
		want[r] = true
	}
	out := map[string]string{}
	for _, img := range imgs {
		if ref := img.Ref(); want[ref] {
			out[ref] = img.ID
		}
	}
	return out, nil
}

func (e *dockerEngine) Load(ctx context.Context, r io.Reader) error {
	_, err := e.r.Load(ctx, r)
	return err
}

func (e *dockerEngine) Run(ctx context.Context, s RunSpec) error {
	o := docker.RunOptions{Image: s.Image, Args: s.Args, Env: s.Env, Network: s.Network, Remove: true,
		Stdin: s.Stdin, Stdout: s.Stdout, Stderr: s.Stderr}
	for _, m := range s.Mounts {
		o.Mounts = append(o.Mounts, docker.Mount{Source: m.Host, Target: m.Container, ReadOnly: m.ReadOnly})
	}
	return e.r.Run(ctx, o)
}

func (e *dockerEngine) PluginComposeVersion(ctx context.Context) (string, error) {
	return e.r.PluginComposeVersion(ctx)
}

func (e *dockerEngine) Compose(ctx context.Context, tool ComposeTool, dir string, args ...string) error {
	r := e.r
	if tool.Plugin {
		r = e.plugin
	}
	_, err := r.Compose(ctx, dir, args...)
	return err
}

func (e *dockerEngine) Logs(ctx context.Context, container string, tail int) (string, error) {
	t := ""
	if tail > 0 {
		t = strconv.Itoa(tail)
	}
	return e.r.Logs(ctx, container, t)
}

// Exec runs a command in a running container and returns its stdout.
func (e *dockerEngine) Exec(ctx context.Context, container string, args ...string) (string, error) {
	return e.r.Exec(ctx, container, args...)
}
