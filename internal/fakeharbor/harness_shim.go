package fakeharbor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/harborbundle/bundle/internal/docker"
)

// Harbor's real prepare script (2.1+) runs `docker run ... --privileged goharbor/prepare:vX`.
// This machine's Docker engine cannot start a privileged container at all ("unable to apply
// caps: operation not permitted": the daemon's capability bounding set lacks CAP_SYS_MODULE,
// which --privileged asks for). So the real scripts run with a `docker` first on PATH that
// drops that one flag, says so on stderr, and passes everything else to the real docker
// unchanged. Nothing the fake prepare does needs the extra capabilities (it runs as root).
const dockerShim = `#!/bin/sh
# fakeharbor: drops --privileged (this engine cannot apply every capability); see harness_shim.go.
reset=1
for a do
	if [ "$reset" = 1 ]; then set --; reset=0; fi
	if [ "$a" = --privileged ]; then
		echo "fakeharbor docker shim: dropping --privileged (this Docker engine cannot start privileged containers)" >&2
		continue
	fi
	set -- "$@" "$a"
done
exec %s "$@"
`

// ShimEnv is the environment under which Harbor's real scripts (install.sh, prepare) run
// against this machine's engine: PATH with the docker shim first (see dockerShim). Tests that
// run the real scripts themselves, or run bundle which runs them, add it to the environment.
func (h *Harbor) ShimEnv() ([]string, error) {
	dir, err := WriteDockerShim(filepath.Join(h.Parent, ".fakeharbor-bin"))
	if err != nil {
		return nil, err
	}
	return []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH")}, nil
}

// WriteDockerShim writes the docker shim into dir (created) and returns dir.
func WriteDockerShim(dir string) (string, error) {
	real, err := docker.LookPath()
	if err != nil {
		return "", fmt.Errorf("finding docker: %w", err)
	}
	if real, err = filepath.Abs(real); err != nil {
		return "", err
	}
	if strings.HasPrefix(real, dir+string(filepath.Separator)) {
		return "", fmt.Errorf("docker on PATH is the shim itself (%s)", real)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	script := fmt.Sprintf(dockerShim, "'"+strings.ReplaceAll(real, "'", `'\''`)+"'")
	if err := os.WriteFile(filepath.Join(dir, docker.CLIName), []byte(script), 0o755); err != nil {
		return "", err
	}
	return dir, nil
}
