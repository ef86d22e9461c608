package fakeharbor

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// TestInstall2x is the 2.x installation guide on the real engine with Harbor's REAL installer
// files (install.sh, common.sh, prepare, harbor.yml.tmpl): cp harbor.yml.tmpl harbor.yml, edit
// it, ./install.sh [--with-...]; every container healthy and /api/v2.0/systeminfo reporting the
// release; then removed without leftovers.
func TestInstall2x(t *testing.T) {
	cases := []struct {
		version    string
		components []string
		offline    bool
	}{
		{"v2.0.6", nil, true},
		// Notary needs https in 2.x (prepare refuses it over http: TestInstall2xNotaryNeedsHTTPS).
		{"v2.4.3", []string{release.Chartmuseum, release.Trivy}, false},
		{"v2.13.5", []string{release.Trivy}, true},
		{"v2.15.2", nil, false},
	}
	for _, c := range cases {
		t.Run(c.version, func(t *testing.T) {
			start := time.Now()
			h := Install(t, InstallOptions{Version: c.version, Components: c.components, Offline: c.offline, HealthTimeout: 3 * time.Minute})
			t.Logf("install of %s %v (offline %v): healthy after %v", c.version, c.components, c.offline, time.Since(start).Round(time.Millisecond))
			ctx := context.Background()
			rel, _ := release.Get(c.version)

			// The installer carried the template only; the user's copy is what prepare read.
			if _, err := os.Stat(filepath.Join(h.Dir, "harbor.yml.tmpl")); err != nil {
				t.Errorf("no harbor.yml.tmpl in the install dir: %v", err)
			}
			compose, err := os.ReadFile(filepath.Join(h.Dir, "docker-compose.yml"))
			if err != nil {
				t.Fatalf("prepare wrote no docker-compose.yml: %v", err)
			}
			cs, err := h.Containers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := rel.ImagesFor(c.components...)
			if len(cs) != len(want) {
				t.Errorf("%d containers, want %d", len(cs), len(want))
			}
			for _, img := range want {
				if !strings.Contains(string(compose), img.Ref()) {
					t.Errorf("docker-compose.yml does not run %s", img.Ref())
				}
			}
			// install.sh of 2.5.4+ prefers the docker compose plugin when it works (it is
			// installed here by make tools), older ones always run docker-compose 1.x.
			pluginWorks := exec.Command("docker", "compose", "version").Run() == nil
			wantTool := "1."
			if rel.ComposePlugin && pluginWorks {
				wantTool = "2."
			}
			for _, c := range cs {
				if c.Health != "healthy" {
					t.Errorf("%s: %s %s", c.Name, c.State, c.Health)
				}
				if v := c.Labels["com.docker.compose.version"]; !strings.HasPrefix(v, wantTool) {
					t.Errorf("%s made by compose %q, want %sx (plugin works: %v)", c.Name, v, wantTool, pluginWorks)
				}
			}
			t.Logf("containers made by compose %s", cs[0].Labels["com.docker.compose.version"])
			AssertNoLeftovers(t, h)
		})
	}
}

// TestInstall2xNotaryNeedsHTTPS: 2.x prepare refuses --with-notary over http, and install.sh
// stops there, leaving nothing running.
func TestInstall2xNotaryNeedsHTTPS(t *testing.T) {
	opts := InstallOptions{Version: "v2.4.3", Components: []string{release.Notary}}
	h := NewHarbor(t, opts)
	err := h.Install(context.Background(), opts)
	if err == nil || !strings.Contains(h.Log.String(), "the protocol must be https when Harbor is deployed with Notary") {
		t.Fatalf("install of 2.4.3 --with-notary over http: %v", err)
	}
	if cs, err := h.Containers(context.Background()); err != nil || len(cs) != 0 {
		t.Errorf("containers after the refused install: %d (%v)", len(cs), err)
	}
	AssertNoLeftovers(t, h)
}
