package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrNoComposePlugin is returned (wrapped) by PluginComposeVersion when the docker CLI has no
// compose plugin: "docker compose" is then an unknown command.
var ErrNoComposePlugin = errors.New("the docker compose plugin is not installed (make tools installs it in /usr/local/lib/docker/cli-plugins)")

// Version returns the Docker engine's version ("20.10.24+dfsg1"); it fails when the daemon
// is not reachable, which makes it the check that Docker is usable at all.
func (r *Runner) Version(ctx context.Context) (string, error) {
	out, err := r.exec(ctx, call{bin: r.docker(), args: []string{"version", "--format", "{{.Server.Version}}"}})
	if err != nil {
		return "", fmt.Errorf("asking the docker engine for its version: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// ComposeVersion returns the standalone docker-compose's version ("1.29.2").
func (r *Runner) ComposeVersion(ctx context.Context) (string, error) {
	out, err := r.exec(ctx, call{bin: r.compose(), args: []string{"version", "--short"}})
	if err != nil {
		return "", fmt.Errorf("asking docker-compose for its version: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// PluginComposeVersion returns the version of the docker compose v2 CLI plugin ("2.40.3"; v2
// prints it without the "v"), whatever ComposePlugin says: install.sh's choice of tool depends
// on whether the plugin is there. Without the plugin the error wraps ErrNoComposePlugin.
func (r *Runner) PluginComposeVersion(ctx context.Context) (string, error) {
	out, err := r.exec(ctx, call{bin: r.docker(), args: []string{"compose", "version", "--short"}, query: true})
	if err != nil {
		// Without the plugin the docker CLI takes "compose" for an unknown command (exit 1)
		// or, as docker 28 does, rejects the flag that follows it (exit 125).
		var exit *ExitError
		if errors.As(err, &exit) && (strings.Contains(exit.Stderr, "unknown command") ||
			strings.Contains(exit.Stderr, "unknown flag") || strings.Contains(exit.Stderr, "is not a docker command")) {
			return "", fmt.Errorf("%w: %v", ErrNoComposePlugin, err)
		}
		return "", fmt.Errorf("asking docker compose for its version: %w", err)
	}
	v := strings.TrimSpace(string(out))
	if v == "" {
		return "", fmt.Errorf("docker compose version --short printed nothing")
	}
	return v, nil
}

// Compose runs the compose tool (see ComposePlugin) with args in dir (where
// docker-compose.yml is) and returns its stdout; everything it prints also goes to the log.
func (r *Runner) Compose(ctx context.Context, dir string, args ...string) (string, error) {
	out, err := r.exec(ctx, r.composeCall(dir, args))
	if err != nil {
		return string(out), fmt.Errorf("running %s in %s: %w", r.ComposeName(), dir, err)
	}
	return string(out), nil
}
