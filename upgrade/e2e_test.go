package upgrade

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/internal/fakeharbor"
)

// upgradeAndCheck installs fake from-version with components, seeds data, runs the .run and
// checks the result: healthy on v1.10.0, same components, harbor.yml migrated, data readable,
// backup matching its checksums and the pre-upgrade trees.
func upgradeAndCheck(t *testing.T, from string, components []string) *upgraded {
	return upgradeAndCheckWith(t, from, components, false)
}

// upgraded is a fake Harbor after a successful upgrade, with what it was before.
type upgraded struct {
	h       *fakeharbor.Harbor
	run     string
	backup  string
	journal *Journal
	before  *hostState
	seeded  *fakeharbor.Seeded
	cfg     []byte
}

func upgradeAndCheckWith(t *testing.T, from string, components []string, traced bool) *upgraded {
	run := bundleRun(t)
	ctx := context.Background()
	t0 := time.Now()
	h := fakeharbor.Install(t, fakeharbor.InstallOptions{Version: from, Components: components})
	t.Logf("fake %s installed in %s", from, time.Since(t0).Round(time.Millisecond))
	seeded, err := h.Seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(filepath.Join(h.Dir, "harbor.yml"))
	before := snapshot(t, h)
	backup := filepath.Join(h.Parent, "backups")

	t1 := time.Now()
	args := []string{"--yes", "--backup-dir", backup, "--health-timeout", "4m", "-o", "json"}
	var res runResult
	if traced {
		res = runTraced(t, h, run, args...)
	} else {
		res = runBundle(t, run, args...)
	}
	t.Logf("upgrade %s -> v1.10.0 took %s", from, time.Since(t1).Round(time.Millisecond))
	if res.code != 0 {
		t.Fatalf("upgrade failed: %s", res)
	}
	rep := jsonReport(t, res.stdout)
	if r, _ := rep["result"].(map[string]any); r == nil || r["state"] != StateDone {
		t.Fatalf("json result: %v", rep["result"])
	}
	h.Components = components
	if err := h.WaitHealthy(ctx, "v1.10.0", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := h.CheckSeeded(ctx, seeded); err != nil {
		t.Errorf("old data after the upgrade: %v", err)
	}
	c, err := harbor.ReadConfig(filepath.Join(h.Dir, "harbor.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ConfigVersion() != "1.10.0" || c.DataVolume() != h.DataVolume || c.HTTPPort() != h.Port {
		t.Errorf("migrated harbor.yml: _version %s data_volume %s port %d", c.ConfigVersion(), c.DataVolume(), c.HTTPPort())
	}
	for _, key := range [][]string{{"database", "max_idle_conns"}, {"proxy", "components"}, {"log", "local", "rotate_count"}, {"notification", "webhook_job_max_retry"}} {
		if !c.Has(key...) {
			t.Errorf("migrated harbor.yml lacks %s", strings.Join(key, "."))
		}
	}
	j := readJournalOf(t, backup)
	if j.State != StateDone || j.From != from || j.To != "v1.10.0" {
		t.Errorf("journal: %+v", j)
	}
	if err := verifyBackup(j); err != nil {
		t.Errorf("backup does not match its checksums: %v", err)
	}
	for name, want := range map[string]*TreeManifest{"database": before.database, "secret": before.secret, "harbor": before.installDir} {
		got, err := ScanTree(filepath.Join(j.Dir(), name))
		if err != nil {
			t.Fatal(err)
		}
		if d := DiffTrees(want, got, TreeDiffOptions{IgnoreTimes: name == "harbor"}); len(d) > 0 {
			t.Errorf("backup of %s differs from before the upgrade: %v", name, d)
		}
	}
	st, err := os.Stat(j.Dir())
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("backup dir mode %v", st.Mode())
	}
	logb, err := os.ReadFile(filepath.Join(j.Dir(), LogName))
	if err != nil {
		t.Fatal(err)
	}
	if li, _ := os.Stat(filepath.Join(j.Dir(), LogName)); li.Mode().Perm() != 0o600 {
		t.Errorf("log mode %v", li.Mode())
	}
	for _, secret := range []string{"Harbor12345", "root123"} {
		if strings.Contains(string(logb), secret) || strings.Contains(res.stdout+res.stderr, secret) {
			t.Errorf("password %q printed or logged", secret)
		}
	}
	if !strings.Contains(string(logb), "install.sh") || !strings.Contains(string(logb), "docker-compose") {
		t.Errorf("log lacks the commands:\n%s", logb)
	}
	status := runBundle(t, run, "status", "--backup-dir", backup)
	if status.code != 0 || !strings.Contains(status.stdout, j.ID) || !strings.Contains(status.stdout, "done") {
		t.Errorf("status: %s", status)
	}
	return &upgraded{h: h, run: run, backup: backup, journal: j, before: before, seeded: seeded, cfg: cfg}
}

// TestE2EUpgrade194AllComponents upgrades, then proves a tampered backup is refused without
// any change, then rolls the finished upgrade back to the pre-upgrade state.
func TestE2EUpgrade194AllComponents(t *testing.T) {
	u := upgradeAndCheck(t, "v1.9.4", []string{"notary", "clair", "chartmuseum"})
	victim := filepath.Join(u.journal.Dir(), "database", "schema_migrations.json")
	orig, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(victim)
	os.WriteFile(victim, append([]byte(nil), append(orig, ' ')...), 0o600)
	os.Chtimes(victim, st.ModTime(), st.ModTime())
	upgradedState := snapshot(t, u.h)
	r := runBundle(t, u.run, "rollback", "--yes", "--backup-dir", u.backup)
	if r.code != 2 || !strings.Contains(r.stderr, "no longer matches its checksums") || !strings.Contains(r.stderr, "schema_migrations.json") {
		t.Errorf("rollback from a tampered backup: %s", r)
	}
	assertUnchanged(t, upgradedState, snapshot(t, u.h))
	os.WriteFile(victim, orig, 0o600)
	os.Chtimes(victim, st.ModTime(), st.ModTime())

	t0 := time.Now()
	r = runBundle(t, u.run, "rollback", "--yes", "--backup-dir", u.backup, "--health-timeout", "3m")
	if r.code != 0 {
		t.Fatalf("rollback after a successful upgrade: %s", r)
	}
	t.Logf("rollback of a finished upgrade took %s", time.Since(t0).Round(time.Millisecond))
	u.h.Components = []string{"notary", "clair", "chartmuseum"}
	assertRestored(t, u.h, u.before, u.seeded, u.cfg)
	if r := runBundle(t, u.run, "rollback", "--yes", "--backup-dir", u.backup); r.code != 2 || !strings.Contains(r.stderr, "already rolled back") {
		t.Errorf("second rollback: %s", r)
	}
}

// A 1.9.4 without components is upgraded by TestE2ESecretsAndShellMetacharacters (e2e_trust_test.go)
// and by the real scripts (TestE2ERealScriptsUpgrade194): no third install of it here.

// TestE2EUpgrade186AllComponentsNoNetwork upgrades 1.8.6 with every component (the quota-sync
// path) under strace: no connection leaves the host and docker pulls nothing (runTraced).
func TestE2EUpgrade186AllComponentsNoNetwork(t *testing.T) {
	upgradeAndCheckWith(t, "v1.8.6", []string{"notary", "clair", "chartmuseum"}, true)
}
