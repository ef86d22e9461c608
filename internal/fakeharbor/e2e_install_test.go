package fakeharbor

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// checkFreshOfflineInstall checks a fresh install of v1.9.4 with clair and chartmuseum from the
// offline installer (the installation guide on the real engine: tar xzf the offline installer,
// edit harbor.yml, ./install.sh --with-clair --with-chartmuseum): systeminfo's version, every
// container healthy, the data dirs' owners and modes, the secretkey. TestManualUpgradeAndRollbacks
// runs it on its install before upgrading it: one install for both under the e2e lock.
func checkFreshOfflineInstall(t *testing.T, h *Harbor) {
	t.Helper()
	ctx := context.Background()
	info, err := h.SystemInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.HarborVersion) != len("v1.9.4-")+8 || info.HarborVersion[:7] != "v1.9.4-" {
		t.Errorf("harbor_version %q, want v1.9.4-<8 hex>", info.HarborVersion)
	}
	cs, err := h.Containers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := release.Get("v1.9.4")
	if want := len(rel.ImagesFor(release.Clair, release.Chartmuseum)); len(cs) != want {
		t.Errorf("%d containers, want %d", len(cs), want)
	}
	for _, c := range cs {
		if c.Health != "healthy" {
			t.Errorf("%s: %s %s", c.Name, c.State, c.Health)
		}
	}
	owners := map[string]uint32{"database": 999, "redis": 999, "registry": 10000, "job_logs": 10000,
		"chart_storage": 10000, "psc": 10000, "ca_download": 10000}
	for dir, uid := range owners {
		fi, err := os.Stat(filepath.Join(h.DataVolume, dir))
		if err != nil {
			t.Errorf("data dir %s: %v", dir, err)
			continue
		}
		if got := fi.Sys().(*syscall.Stat_t).Uid; got != uid {
			t.Errorf("data dir %s owned by %d, want %d", dir, got, uid)
		}
	}
	if fi, err := os.Stat(filepath.Join(h.DataVolume, "database")); err == nil && fi.Mode().Perm() != 0o700 {
		t.Errorf("database dir mode %v, want 0700", fi.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(h.DataVolume, "secret", "keys", "secretkey")); err != nil {
		t.Errorf("no secretkey: %v", err)
	}
}

// TestOnlineInstallAndReopen covers the online installer (images streamed into docker load
// first) and finding an install again from its workspace, as the demo's commands do.
func TestOnlineInstallAndReopen(t *testing.T) {
	ctx := context.Background()
	h := Install(t, InstallOptions{Version: "v1.10.0"})
	if _, err := os.Stat(filepath.Join(h.Dir, "harbor.v1.10.0.tar.gz")); err == nil {
		t.Error("the online installer carries the image tarball")
	}
	again, err := OpenHarbor(h.Parent)
	if err != nil {
		t.Fatal(err)
	}
	if again.Port != h.Port || again.Version != "v1.10.0" || again.Dir != h.Dir {
		t.Errorf("reopened as %+v", again)
	}
	s, err := again.Seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.CheckSeeded(ctx, s); err != nil {
		t.Error(err)
	}
	AssertNoLeftovers(t, again)
}
