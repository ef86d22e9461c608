package docker

import (
	"context"
	"fmt"
	"strings"
)

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

// Compose runs docker-compose with args in dir (where docker-compose.yml is) and returns its
// stdout; everything it prints also goes to the log.
func (r *Runner) Compose(ctx context.Context, dir string, args ...string) (string, error) {
	out, err := r.exec(ctx, call{bin: r.compose(), dir: dir, args: args})
	if err != nil {
		return string(out), fmt.Errorf("running docker-compose in %s: %w", dir, err)
	}
	return string(out), nil
}
