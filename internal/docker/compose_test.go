package docker

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// composeTools are the two compose tools Harbor's install.sh may use: docker-compose v1 (every
// 1.x and early 2.x) and the docker compose v2 plugin (preferred from 2.5.4/2.6 on).
var composeTools = []struct {
	name   string
	plugin bool
}{
	{"docker-compose", false},
	{"docker compose", true},
}

// composeLabels are the labels both tools put on a service's container that the upgrade relies
// on to find a Harbor's containers whichever tool started them. Others differ: config_files
// ("docker-compose.yml" from v1, the absolute path from v2), config-hash, version; v2 adds
// com.docker.compose.image and depends_on.
var composeLabels = []string{
	"com.docker.compose.project",
	"com.docker.compose.project.working_dir",
	"com.docker.compose.service",
	"com.docker.compose.oneoff",
	"com.docker.compose.container-number",
}

// loadComposeImage loads the probe image (no pull: the image is built here) and registers the
// removal of everything the test makes, also when it fails.
func loadComposeImage(t *testing.T, r *Runner) (ref, id string) {
	t.Helper()
	img, ref, id := testImage(t)
	t.Cleanup(func() { cleanup(t, r, ref, id); removeNetworks(t, id) })
	pr, pw := io.Pipe()
	go func() {
		tag, _ := name.NewTag(ref)
		pw.CloseWithError(tarball.Write(tag, img, pw))
	}()
	if _, err := r.Load(context.Background(), pr); err != nil {
		t.Fatal(err)
	}
	return ref, id
}

// writeComposeProject writes a one-service project shaped like Harbor's: the file format 2.3,
// a fixed container_name and a project network (internal: nothing needs to go out), every
// object labelled with the test's id. The project name comes from the directory, "proj<id>".
func writeComposeProject(t *testing.T, ref, id string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "proj"+id)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	yml := `version: '2.3'
services:
  probe:
    image: ` + ref + `
    container_name: bundle-test-compose-` + id + `
    command: ["sleep", "60"]
    networks: [net]
    labels:
      bundle-test: ` + id + `
networks:
  net:
    internal: true
    labels:
      bundle-test: ` + id + `
`
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// networksOf lists the networks carrying the test's label.
func networksOf(t *testing.T, id string) []string {
	t.Helper()
	out, err := exec.Command("docker", "network", "ls", "-q", "--filter", "label=bundle-test="+id).Output()
	if err != nil {
		t.Errorf("docker network ls: %v", err)
	}
	return strings.Fields(string(out))
}

func removeNetworks(t *testing.T, id string) {
	for _, n := range networksOf(t, id) {
		if out, err := exec.Command("docker", "network", "rm", n).CombinedOutput(); err != nil {
			t.Errorf("removing network %s: %v\n%s", n, err, out)
		}
	}
}

// up starts the project with r's tool and returns the labels of its one container.
func up(t *testing.T, r *Runner, dir, id string) map[string]string {
	t.Helper()
	ctx := context.Background()
	if _, err := r.Compose(ctx, dir, "up", "-d"); err != nil {
		t.Fatal(err)
	}
	out, err := r.Compose(ctx, dir, "ps", "-q")
	if err != nil || len(strings.Fields(out)) != 1 {
		t.Fatalf("%s ps -q: %q, %v", r.ComposeName(), out, err)
	}
	cs, err := r.PS(ctx, "label=com.docker.compose.project.working_dir="+dir)
	if err != nil || len(cs) != 1 || cs[0].State != "running" || cs[0].Name != "bundle-test-compose-"+id {
		t.Fatalf("%s: container by working_dir label: %+v, %v", r.ComposeName(), cs, err)
	}
	return cs[0].Labels
}

// down stops the project with r's tool and checks that nothing of it is left.
func down(t *testing.T, r *Runner, dir, id string) {
	t.Helper()
	// -t 1: the probe is PID 1 without a SIGTERM handler and would hold down for 10 s.
	if _, err := r.Compose(context.Background(), dir, "down", "-t", "1"); err != nil {
		t.Fatal(err)
	}
	if cs, err := r.PS(context.Background(), "label=bundle-test="+id); err != nil || len(cs) != 0 {
		t.Errorf("%s down left containers: %+v, %v", r.ComposeName(), cs, err)
	}
	if ns := networksOf(t, id); len(ns) != 0 {
		t.Errorf("%s down left networks %v", r.ComposeName(), ns)
	}
}

// TestCompose brings the same project up and down with each tool: same container, and the
// labels by which the upgrade finds a Harbor's containers are equal.
func TestCompose(t *testing.T) {
	r := &Runner{}
	ref, id := loadComposeImage(t, r)
	dir := writeComposeProject(t, ref, id)
	labels := map[string]map[string]string{}
	for _, tool := range composeTools {
		r := &Runner{ComposePlugin: tool.plugin}
		if got := r.ComposeName(); got != tool.name {
			t.Errorf("ComposeName() = %q, want %q", got, tool.name)
		}
		labels[tool.name] = up(t, r, dir, id)
		// The tool that made a container says so in com.docker.compose.version: "1.29.2" from
		// docker-compose, the plugin's "2.40.3" from docker compose.
		version := r.ComposeVersion
		if tool.plugin {
			version = r.PluginComposeVersion
		}
		if v, err := version(context.Background()); err != nil || labels[tool.name]["com.docker.compose.version"] != v {
			t.Errorf("%s made a container labelled com.docker.compose.version=%q; the tool's version is %q, %v",
				tool.name, labels[tool.name]["com.docker.compose.version"], v, err)
		}
		down(t, r, dir, id)
		_, err := r.Compose(context.Background(), dir, "bogus-command")
		if err == nil {
			t.Errorf("a failing %s reported success", tool.name)
		} else if !strings.Contains(err.Error(), "running "+tool.name+" in "+dir) {
			t.Errorf("error does not name the tool %q: %v", tool.name, err)
		}
	}
	v1, v2 := labels["docker-compose"], labels["docker compose"]
	for _, l := range composeLabels {
		if v1[l] == "" || v1[l] != v2[l] {
			t.Errorf("label %s: docker-compose %q, docker compose %q", l, v1[l], v2[l])
		}
	}
	if v1["com.docker.compose.project"] != "proj"+id || v1["com.docker.compose.project.working_dir"] != dir {
		t.Errorf("project labels: %v", v1)
	}
	t.Logf("docker-compose labels: %v", v1)
	t.Logf("docker compose labels: %v", v2)
}

// TestComposeAcrossTools: a Harbor started by one tool is stopped by the other, as when the
// target's install.sh (plugin) replaces a Harbor an older one started with docker-compose, or a
// rollback's docker-compose stops what the plugin started.
func TestComposeAcrossTools(t *testing.T) {
	r := &Runner{}
	ref, id := loadComposeImage(t, r)
	dir := writeComposeProject(t, ref, id)
	for _, from := range composeTools {
		for _, to := range composeTools {
			if from == to {
				continue
			}
			up(t, &Runner{ComposePlugin: from.plugin}, dir, id)
			other := &Runner{ComposePlugin: to.plugin}
			out, err := other.Compose(context.Background(), dir, "ps", "-q")
			if err != nil || len(strings.Fields(out)) != 1 {
				t.Errorf("%s ps -q of a project %s started: %q, %v", to.name, from.name, out, err)
			}
			down(t, other, dir, id)
		}
	}
}

// TestPluginComposeVersion: the plugin make tools installs is there, at the Makefile's version.
func TestPluginComposeVersion(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^COMPOSE_VERSION \?= v(\S+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("Makefile has no COMPOSE_VERSION ?= vX.Y.Z")
	}
	r := &Runner{}
	v, err := r.PluginComposeVersion(context.Background())
	if err != nil {
		t.Fatalf("the docker compose plugin is required for these tests (make tools installs it): %v", err)
	}
	if !regexp.MustCompile(`^2\.\d+\.\d+$`).MatchString(v) || v != string(m[1]) {
		t.Errorf("plugin version %q, want %s (the Makefile's COMPOSE_VERSION)", v, m[1])
	}
	// The standalone tool is still asked by ComposeVersion, whatever ComposePlugin says.
	r.ComposePlugin = true
	if v1, err := r.ComposeVersion(context.Background()); err != nil || !strings.HasPrefix(v1, "1.") {
		t.Errorf("ComposeVersion with ComposePlugin: %q, %v; want docker-compose's 1.x", v1, err)
	}
}

// TestPluginComposeMissing runs the real docker CLI with every plugin directory hidden (a
// private mount namespace with empty tmpfs over them): the version check says the plugin is
// missing, and a compose command through the plugin fails.
func TestPluginComposeMissing(t *testing.T) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(t.TempDir(), "docker-without-plugins")
	script := `#!/bin/sh
exec unshare -m sh -c '
for d in /usr/local/lib/docker/cli-plugins /usr/local/libexec/docker/cli-plugins /usr/lib/docker/cli-plugins \
    /usr/libexec/docker/cli-plugins "${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"; do
  if [ -d "$d" ]; then mount -t tmpfs none "$d" || exit 99; fi
done
exec ` + docker + ` "$@"' sh "$@"
`
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r := &Runner{DockerPath: wrapper, ComposePlugin: true}
	ctx := context.Background()
	// The wrapper runs docker itself fine: only the plugin is gone.
	if _, err := r.Version(ctx); err != nil {
		t.Fatalf("docker through the wrapper: %v", err)
	}
	_, err = r.PluginComposeVersion(ctx)
	if !errors.Is(err, ErrNoComposePlugin) || !strings.Contains(err.Error(), "make tools") {
		t.Errorf("PluginComposeVersion without the plugin: %v; want ErrNoComposePlugin", err)
	}
	if _, err := r.Compose(ctx, t.TempDir(), "version"); err == nil || !strings.Contains(err.Error(), "running docker compose in") {
		t.Errorf("docker compose without the plugin: %v", err)
	}
}
