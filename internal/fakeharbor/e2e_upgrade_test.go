package fakeharbor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/harborbundle/bundle/internal/docker"
	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// manualUpgrade runs scripts/manual-upgrade.sh (the upgrade guide, literally) from h's install
// to the offline package of version, with backups in Parent/backup. It returns the backup dir.
func manualUpgrade(t *testing.T, h *Harbor, version string) string {
	t.Helper()
	script, err := filepath.Abs("../../scripts/manual-upgrade.sh")
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := h.InstallerFile(version, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.CheckOfflineImages(version); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(h.Parent, "backup")
	if err := os.Mkdir(backup, 0o755); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--parent", h.Parent, "--package", pkg, "--backup", backup, "--"}, h.Flags()...)
	start := time.Now()
	if err := h.runLogged(context.Background(), h.Parent, nil, script, args...); err != nil {
		t.Fatalf("manual upgrade to %s: %v", version, err)
	}
	t.Logf("manual-upgrade.sh to %s: %v", version, time.Since(start).Round(time.Millisecond))
	return backup
}

func configVersionOf(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version string `yaml:"_version"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Version
}

// TestManualUpgradeAndRollbacks installs 1.9.4 with clair and chartmuseum from the offline
// installer (checkFreshOfflineInstall), follows the guide from it to 1.10.0 with seeded data,
// then does the rollback wrong twice, as users report it, and right.
func TestManualUpgradeAndRollbacks(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	h := Install(t, InstallOptions{Version: "v1.9.4", Components: []string{release.Clair, release.Chartmuseum}, Offline: true})
	t.Logf("offline install of v1.9.4 with clair and chartmuseum: healthy after %v", time.Since(start).Round(time.Millisecond))
	checkFreshOfflineInstall(t, h)
	seeded, err := h.Seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.CheckSeeded(ctx, seeded); err != nil {
		t.Fatalf("seeded data on the fresh install: %v", err)
	}
	backup := manualUpgrade(t, h, "v1.10.0")
	start = time.Now()
	if err := h.WaitHealthy(ctx, "v1.10.0", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("1.10.0 healthy %v after install.sh", time.Since(start).Round(time.Millisecond))
	if err := h.CheckSeeded(ctx, seeded); err != nil {
		t.Errorf("after the upgrade: %v", err)
	}
	if v := configVersionOf(t, filepath.Join(h.Dir, "harbor.yml")); v != "1.10.0" {
		t.Errorf("migrated harbor.yml has _version %q", v)
	}
	if v := configVersionOf(t, filepath.Join(backup, "harbor", "harbor.yml")); v != "1.9.0" {
		t.Errorf("backed-up harbor.yml has _version %q", v)
	}

	t.Run("old core refuses the migrated schema", func(t *testing.T) {
		// The rollback without the database backup: the old install on the 1.10 schema.
		compose(t, h, h.Dir, "down")
		move(t, h.Dir, filepath.Join(h.Parent, "failed-harbor"))
		move(t, filepath.Join(backup, "harbor"), h.Dir)
		if err := h.RunInstall(ctx, h.Dir, nil); err != nil {
			t.Fatal(err)
		}
		waitLog(t, h, "harbor-core", "newer than supported")
		if err := h.WaitHealthy(ctx, "v1.9.4", 5*time.Second); err == nil {
			t.Error("1.9.4 became healthy on the 1.10 schema")
		}
	})

	t.Run("database restored without its secretkey", func(t *testing.T) {
		compose(t, h, h.Dir, "down")
		db := filepath.Join(h.DataVolume, "database")
		if err := os.RemoveAll(db); err != nil {
			t.Fatal(err)
		}
		run(t, h, "cp", "-r", filepath.Join(backup, "database"), h.DataVolume+"/")
		key := filepath.Join(h.DataVolume, "secret", "keys", "secretkey")
		saved := filepath.Join(h.Parent, "secretkey.saved")
		move(t, key, saved)
		if err := h.RunInstall(ctx, h.Dir, nil); err != nil {
			t.Fatal(err)
		}
		waitLog(t, h, "harbor-core", "failed to decrypt credential")
		hs, err := h.Health(ctx)
		if err != nil || hs.Status != "unhealthy" || !strings.Contains(hs.Components[0].Error, "decrypt") {
			t.Errorf("health with a new secretkey: %+v, %v", hs, err)
		}

		// The documented rollback, secret included, brings the old data back.
		compose(t, h, h.Dir, "down")
		move(t, saved, key)
		if err := h.RunInstall(ctx, h.Dir, nil); err != nil {
			t.Fatal(err)
		}
		if err := h.WaitHealthy(ctx, "v1.9.4", time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := h.CheckSeeded(ctx, seeded); err != nil {
			t.Errorf("after the full rollback: %v", err)
		}
	})
	AssertNoLeftovers(t, h)
}

// TestManualUpgradeFrom186 shows the slow first start after 1.8: core's quota sync.
func TestManualUpgradeFrom186(t *testing.T) {
	ctx := context.Background()
	h := Install(t, InstallOptions{Version: "v1.8.6", Components: []string{release.Chartmuseum}, Offline: true})
	seeded, err := h.Seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	manualUpgrade(t, h, "v1.10.0")
	start := time.Now()
	if err := h.WaitHealthy(ctx, "v1.10.0", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("1.10.0 healthy %v after install.sh (quota sync)", took.Round(time.Millisecond))
	logs, _ := h.Docker.Logs(ctx, "harbor-core", "")
	if !strings.Contains(logs, "Start to sync quota data") || !strings.Contains(logs, "Quota sync done") {
		t.Errorf("no quota sync in core's log:\n%s", logs)
	}
	if took < 4*time.Second {
		t.Errorf("first start after 1.8 took %v: no slow quota sync", took)
	}
	if err := h.CheckSeeded(ctx, seeded); err != nil {
		t.Errorf("after the upgrade: %v", err)
	}
	AssertNoLeftovers(t, h)
}

// TestMigratorWrongMountPath is the most common real failure: harbor.yml mounted anywhere but
// /harbor-migration/harbor-cfg/harbor.yml, and the migrator "succeeds" doing nothing.
func TestMigratorWrongMountPath(t *testing.T) {
	ctx := context.Background()
	h := NewHarbor(t, InstallOptions{})
	if err := h.LoadImages(ctx, "v1.10.0"); err != nil {
		t.Fatal(err)
	}
	files, err := installerFiles("v1.9.4")
	if err != nil {
		t.Fatal(err)
	}
	yml := filepath.Join(h.Parent, "harbor.yml")
	if err := os.WriteFile(yml, files["harbor.yml"], 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err = h.Docker.Run(ctx, docker.RunOptions{Image: "goharbor/harbor-migrator:v1.10.0", Args: []string{"--cfg", "up"},
		Env: []string{"SKIP_CONFIRM=y"}, Network: "none", Remove: true, Stdout: &out,
		Mounts: []docker.Mount{{Source: yml, Target: "/harbor-migration/harbor.yml"}}})
	if err != nil {
		t.Errorf("migrator with the wrong mount exited with an error (real: 0): %v", err)
	}
	if !strings.Contains(out.String(), "Skip cfg up as no harbor.cfg in the path.") {
		t.Errorf("migrator said %q", out.String())
	}
	if after, _ := os.ReadFile(yml); string(after) != string(files["harbor.yml"]) {
		t.Error("harbor.yml changed")
	}
	AssertNoLeftovers(t, h)
}

func compose(t *testing.T, h *Harbor, dir string, args ...string) {
	t.Helper()
	if _, err := h.Docker.Compose(context.Background(), dir, args...); err != nil {
		t.Fatal(err)
	}
}

func move(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, h *Harbor, name string, args ...string) {
	t.Helper()
	if err := h.runLogged(context.Background(), h.Parent, nil, name, args...); err != nil {
		t.Fatal(err)
	}
}

// waitLog waits until a container's log contains text.
func waitLog(t *testing.T, h *Harbor, container, text string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		logs, _ := h.Docker.Logs(context.Background(), container, "")
		if strings.Contains(logs, text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never logged %q; its log:\n%s", container, text, logs)
		}
		time.Sleep(time.Second)
	}
}
