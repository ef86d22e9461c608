package upgrade

import (
	"context"
	"io"
)

// Engine is what an upgrade needs from the Docker engine. The package never runs docker
// itself; NewDockerEngine adapts internal/docker, the one place that does.
type Engine interface {
	// Version and ComposeVersion return "20.10.24" and "1.29.2"-like versions (ComposeVersion:
	// the standalone docker-compose); PluginComposeVersion that of the `docker compose` CLI
	// plugin ("2.40.3"), failing when the plugin is not installed.
	Version(ctx context.Context) (string, error)
	ComposeVersion(ctx context.Context) (string, error)
	PluginComposeVersion(ctx context.Context) (string, error)
	// RootDir is where the engine stores images (`docker info -f '{{.DockerRootDir}}'`).
	RootDir(ctx context.Context) (string, error)
	// Containers lists all containers (running or not) carrying every given label
	// ("key" or "key=value"); no labels lists all.
	Containers(ctx context.Context, labels ...string) ([]Container, error)
	// ImageIDs returns the local image ID ("sha256:...") of each of refs that is present, in
	// one call: an upgrade checks dozens of images and each docker invocation costs ~50 ms.
	ImageIDs(ctx context.Context, refs []string) (map[string]string, error)
	// Load feeds a docker-archive stream to `docker load`.
	Load(ctx context.Context, r io.Reader) error
	// Run runs a container to completion (`docker run --rm`) and fails on a non-zero exit.
	Run(ctx context.Context, spec RunSpec) error
	// Compose runs the compose tool with args in dir: `docker compose ARGS` for the plugin,
	// else `docker-compose ARGS`.
	Compose(ctx context.Context, tool ComposeTool, dir string, args ...string) error
	// Exec runs a command in a running container (`docker exec`) and returns its stdout: psql
	// in harbor-db reads the schema state and the projects and repositories counts.
	Exec(ctx context.Context, container string, args ...string) (string, error)
	// Logs returns the last lines a container wrote.
	Logs(ctx context.Context, container string, tail int) (string, error)
}

// Container is one container as `docker ps` and inspect describe it.
type Container struct {
	ID     string
	Name   string
	Image  string // as created: "goharbor/harbor-core:v1.9.4"
	State  string // "running", "exited", "restarting", ...
	Health string // "healthy", "unhealthy", "starting", "" when the image has no healthcheck
	Labels map[string]string
}

// RunSpec describes a one-shot container.
type RunSpec struct {
	Image   string
	Args    []string
	Mounts  []Mount
	Env     []string // "KEY=value"
	Network string   // "none" for everything the upgrade runs
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
}

// Mount is a bind mount; Host must be an absolute path that exists (docker would otherwise
// create a directory in its place, the classic silent migrator failure).
type Mount struct {
	Host, Container string
	ReadOnly        bool
}

// Compose labels docker-compose puts on every container.
const (
	LabelWorkingDir = "com.docker.compose.project.working_dir"
	LabelService    = "com.docker.compose.service"
	LabelProject    = "com.docker.compose.project"
	// LabelComposeVersion is the version of the compose tool that created the container.
	LabelComposeVersion = "com.docker.compose.version"
)
