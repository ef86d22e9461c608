package roles

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestPrepare2ComposeLoads: docker-compose (v1, what install.sh runs where the plugin is absent)
// accepts the file the fake writes for the oldest, a `version: '2.3'` and a version-less line.
// Needs docker-compose on PATH (README: make test's requirements); fails without it.
func TestPrepare2ComposeLoads(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatalf("docker-compose (v1) is needed: %v", err)
	}
	for _, folder := range []string{"v2.0.6", "v2.11.2", "v2.15.2"} {
		e := prepare2Env(t, folder, line2xYML(t, folder, false, true))
		if code := e.run("prepare", "prepare", "--with-trivy"); code != 0 {
			t.Fatalf("%s: exit %d\n%s", folder, code, e.output())
		}
		// In the installer, /config is the install dir's common/config.
		if err := os.Symlink(e.path(prepareConfig), e.path("/compose_location/common/config")); err != nil {
			if err := os.MkdirAll(e.path("/compose_location/common"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(e.path(prepareConfig), e.path("/compose_location/common/config")); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := exec.CommandContext(ctx, bin, "-f", e.path(prepareCompose), "config", "-q").CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("%s: docker-compose refuses the file: %v\n%s\n%s", folder, err, out, e.read(prepareCompose))
		}
	}
}
