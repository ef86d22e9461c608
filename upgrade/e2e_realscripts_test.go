package upgrade

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/internal/harborreal"
)

// End to end with Harbor's REAL installer scripts: the old Harbor is installed by the real
// install.sh + prepare of its release, and the bundle's installer carries the real 1.10.0
// install.sh, prepare and common.sh (all unpacked over the fake installer), so the upgrade runs
// the scripts a real host runs, against the fake images.

var (
	realScripts struct {
		once    sync.Once
		builder *fakeharbor.Builder
		run     string
		err     error
	}
)

// realScriptsSetup returns a builder whose installers carry the real scripts, and a .run of
// v1.10.0 built (by the real builder) from such an installer.
func realScriptsSetup(t *testing.T) (*fakeharbor.Builder, string) {
	t.Helper()
	installers := filepath.Join(harborreal.RequireRoot(t), "installer")
	realScripts.once.Do(func() {
		ctx := context.Background()
		opts := fakeharbor.Options{Size: fakeharbor.SizeTiny, RealInstallers: installers}
		if realScripts.builder, realScripts.err = fakeharbor.NewBuilder(ctx, opts); realScripts.err != nil {
			return
		}
		realScripts.run, realScripts.err = buildRun(filepath.Join(artifactsDir, "realscripts"), "harbor-upgrade-1.10-realscripts.run", opts)
	})
	if realScripts.err != nil {
		t.Fatalf("setting up the real-scripts bundle: %v", realScripts.err)
	}
	return realScripts.builder, realScripts.run
}

func TestE2ERealScriptsUpgrade194(t *testing.T) { upgradeWithRealScripts(t, "v1.9.4") }
func TestE2ERealScriptsUpgrade186(t *testing.T) { upgradeWithRealScripts(t, "v1.8.6") }

func upgradeWithRealScripts(t *testing.T, from string) {
	real := harborreal.RequireRoot(t)
	b, run := realScriptsSetup(t)
	ctx := context.Background()
	t0 := time.Now()
	h := fakeharbor.Install(t, fakeharbor.InstallOptions{Version: from, Builder: b})
	t.Logf("fake %s installed by its real install.sh in %s", from, time.Since(t0).Round(time.Millisecond))
	assertRealScripts(t, h.Dir, filepath.Join(real, "installer", from))
	seeded, err := h.Seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(h.Parent, "backups")
	ca := addUAACertInInstallDir(t, h.Dir)

	t1 := time.Now()
	res := runBundle(t, run, "--yes", "--backup-dir", backup, "--health-timeout", "4m", "-o", "json")
	t.Logf("upgrade %s -> v1.10.0 with the real 1.10.0 scripts took %s", from, time.Since(t1).Round(time.Millisecond))
	if res.code != 0 {
		t.Fatalf("upgrade failed: %s\n--- upgrade log (tail)\n%s", res, upgradeLogTail(backup))
	}
	rep := jsonReport(t, res.stdout)
	if r, _ := rep["result"].(map[string]any); r == nil || r["state"] != StateDone {
		t.Fatalf("json result: %v", r)
	}
	if d := checkDetail(rep, "database"); d != "schema_migrations: no dirty schema migration" {
		t.Errorf("the plan's database check did not read schema_migrations in harbor-db: %q", d)
	}
	if d := checkDetail(rep, "harbor.yml files"); !strings.Contains(d, "uaa.ca_file "+ca) {
		t.Errorf("the plan does not name the file to carry: %q", d)
	}
	log := upgradeLogTail(backup)
	if !strings.Contains(log, "migrating harbor.yml with goharbor/harbor-migrator:v1.10.0 --cfg up") {
		t.Errorf("the upgrade log does not show the migrator run:\n%s", log)
	}
	assertRealScripts(t, h.Dir, filepath.Join(real, "installer", "v1.10.0"))
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
		t.Errorf("migrated harbor.yml: _version %q data_volume %s port %d", c.ConfigVersion(), c.DataVolume(), c.HTTPPort())
	}
	if got, _ := c.Get("uaa", "ca_file"); got != ca {
		t.Errorf("migrated uaa.ca_file = %q, want %q", got, ca)
	}
	j := readJournalOf(t, backup)
	rel := strings.TrimPrefix(ca, h.Dir+"/")
	if got, want := ownerMode(t, ca), ownerMode(t, filepath.Join(j.Dir(), "harbor", rel)); got != want {
		t.Errorf("%s carried as %s, was %s", ca, got, want)
	}
	if got, want := ownerMode(t, filepath.Dir(ca)), ownerMode(t, filepath.Join(j.Dir(), "harbor", filepath.Dir(rel))); got != want {
		t.Errorf("%s carried as %s, was %s", filepath.Dir(ca), got, want)
	}
	if b, err := os.ReadFile(ca); err != nil || string(b) != uaaCA {
		t.Errorf("%s after the upgrade: %q, %v", ca, b, err)
	}
}

const uaaCA = "-----BEGIN CERTIFICATE-----\nnot a real certificate: bundle only carries it\n-----END CERTIFICATE-----\n"

// addUAACertInInstallDir puts a CA file inside the install dir (owner 10000, mode 0640, in a
// 0750 directory) and points uaa.ca_file at it, as administrators do with certificates: the
// upgrade must carry it into the new install dir.
func addUAACertInInstallDir(t *testing.T, dir string) string {
	t.Helper()
	ca := filepath.Join(dir, "uaa", "ca.pem")
	if err := os.Mkdir(filepath.Dir(ca), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ca, []byte(uaaCA), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Dir(ca), ca} {
		if err := os.Chown(p, 10000, 10000); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, "harbor.yml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "\nuaa:\n  ca_file: %s\n", ca); err != nil {
		t.Fatal(err)
	}
	return ca
}

// checkDetail is the detail of the plan's check of that name.
func checkDetail(rep map[string]any, name string) string {
	plan, _ := rep["plan"].(map[string]any)
	checks, _ := plan["checks"].([]any)
	for _, c := range checks {
		if m, _ := c.(map[string]any); m["name"] == name {
			d, _ := m["detail"].(string)
			return d
		}
	}
	return ""
}

// assertRealScripts checks that the install dir runs Harbor's own scripts, not the fake's.
func assertRealScripts(t *testing.T, dir, realDir string) {
	t.Helper()
	for _, name := range []string{"install.sh", "prepare", "common.sh"} {
		want, err := os.ReadFile(filepath.Join(realDir, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s/%s is not Harbor's real %s (%v)", dir, name, filepath.Join(realDir, name), err)
		}
	}
}

// upgradeLogTail is the end of the only upgrade log under backup, for a failure's message.
func upgradeLogTail(backup string) string {
	logs, _ := filepath.Glob(filepath.Join(backup, "*", LogName))
	if len(logs) != 1 {
		return fmt.Sprintf("(%d upgrade logs under %s)", len(logs), backup)
	}
	b, _ := os.ReadFile(logs[0])
	if len(b) > 20000 {
		b = b[len(b)-20000:]
	}
	return string(b)
}

// The dirty-database check asks the running harbor-db's psql for schema_migrations, as on a
// real host (here a Harbor installed by the real 1.9.4 scripts): a clean state passes, a dirty
// one is refused naming the version, and with Harbor stopped the plan says it could not check.
func TestE2EDBCheckRealScripts(t *testing.T) {
	b, run := realScriptsSetup(t)
	ctx := context.Background()
	h := fakeharbor.Install(t, fakeharbor.InstallOptions{Version: "v1.9.4", Builder: b})
	backup := filepath.Join(h.Parent, "backups")
	dryRun := func() (runResult, string) {
		res := runBundle(t, run, "--dry-run", "--harbor-dir", h.Dir, "--backup-dir", backup, "-o", "json")
		return res, checkDetail(jsonReport(t, res.stdout), "database")
	}
	if res, d := dryRun(); res.code != 0 || d != "schema_migrations: no dirty schema migration" {
		t.Errorf("clean database: %q\n%s", d, res)
	}

	state := filepath.Join(h.DataVolume, "database", "schema_migrations.json")
	clean, err := os.ReadFile(state)
	if err != nil {
		t.Fatalf("the fake harbor-db keeps no schema state where this test expects it: %v", err)
	}
	writeState := func(b []byte) {
		if err := os.WriteFile(state, b, 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chown(state, 999, 999)
	}
	writeState([]byte(`{"version":12,"dirty":true}`))
	if res, d := dryRun(); res.code != 2 || !strings.Contains(d, "schema_migrations in harbor-db: version 12, dirty") {
		t.Errorf("dirty database: exit %d, %q\n%s", res.code, d, res)
	}
	writeState(clean)

	if _, err := h.Docker.Compose(ctx, h.Dir, "stop"); err != nil {
		t.Fatal(err)
	}
	if res, d := dryRun(); !strings.Contains(d, "could not be checked: harbor-db is not running") {
		t.Errorf("stopped Harbor: %q\n%s", d, res)
	}
}
