package upgrade

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/internal/harborreal"
	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/progress"
	"github.com/harborbundle/bundle/scandb"
)

// upgradeWithDB is an upgrade to 2.15.2 (catalog entry) carrying src's trivy-db, journaled in a
// temp backup dir, for a data volume in a temp dir.
func upgradeWithDB(t *testing.T, src *dbSource, components []string) (*Upgrade, string) {
	t.Helper()
	cat, err := harbor.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	target, err := cat.Get("v2.15.2")
	if err != nil {
		t.Fatal(err)
	}
	src.m.Kind, src.m.Release = payload.KindUpgrade, "v2.15.2"
	j, err := newJournal(t.TempDir(), time.Now(), "v2.13.5", "v2.15.2")
	if err != nil {
		t.Fatal(err)
	}
	dv := t.TempDir()
	j.DataVolume = dv
	u := &Upgrade{o: Options{Bundle: src, Out: io.Discard, Progress: progress.Discard}, manifest: &src.m, target: target,
		components: components, journal: j, log: newRunLog()}
	return u, dv
}

// The upgrade's part: the DB put in by hand goes into the backup, the carried one is swapped in
// (again: nothing to do), and a rollback brings the one by hand back; without one before, the
// rollback moves the carried one out. A Harbor without trivy gets nothing.
func TestUpgradeInstallsAndRestoresScanDB(t *testing.T) {
	ctx := context.Background()
	u, dv := upgradeWithDB(t, newDBSource(t, refreshNew), []string{harbor.Trivy})
	cache := trivyCache(dv)
	layer, _ := fakeharbor.TrivyDBLayer(payload.ScanDBTrivy, refreshOld)
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := scandb.Unpack(bytes.NewReader(layer), payload.ScanDBTrivy, filepath.Join(cache, "db"), scandb.AdapterUID, scandb.AdapterGID); err != nil {
		t.Fatal(err)
	}
	u.journal.Backup.Trees = map[string]TreeRecord{}
	if err := u.backupScanDBs(ctx); err != nil {
		t.Fatal(err)
	}
	if rec := u.journal.Backup.Trees[payload.ScanDBTrivy]; !rec.Complete || len(u.journal.ScanDBs) != 1 {
		t.Fatalf("backup %+v, journal scan dbs %v", rec, u.journal.ScanDBs)
	}
	for range 2 {
		if err := u.installScanDBs(); err != nil {
			t.Fatal(err)
		}
		if m, ok, _ := scandb.Installed(cache, payload.ScanDBTrivy); !ok || m.UpdatedAt != refreshNew.Format(time.RFC3339Nano) {
			t.Fatalf("installed: %+v", m)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(cache, ".*")); len(left) != 0 {
		t.Errorf("staging left: %v", left)
	}
	env := rollbackEnv{eng: &runOnlyEngine{}, out: io.Discard, log: io.Discard, progress: progress.Discard}
	if err := verifyBackup(u.journal); err != nil {
		t.Fatal(err)
	}
	if err := restoreScanDBs(ctx, env, u.journal); err != nil {
		t.Fatal(err)
	}
	if m, ok, _ := scandb.Installed(cache, payload.ScanDBTrivy); !ok || m.UpdatedAt != refreshOld.Format(time.RFC3339Nano) {
		t.Errorf("after the rollback: %+v", m)
	}

	// Nothing before: the rollback takes the carried DB away again.
	u, dv = upgradeWithDB(t, newDBSource(t, refreshNew), []string{harbor.Trivy})
	u.journal.Backup.Trees = map[string]TreeRecord{}
	if err := u.backupScanDBs(ctx); err != nil {
		t.Fatal(err)
	}
	if err := u.installScanDBs(); err != nil {
		t.Fatal(err)
	}
	if err := restoreScanDBs(ctx, env, u.journal); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := scandb.Installed(trivyCache(dv), payload.ScanDBTrivy); ok {
		t.Error("the carried DB is still there after the rollback of an install that had none")
	}

	// No trivy in the new install: nothing is done.
	u, dv = upgradeWithDB(t, newDBSource(t, refreshNew), nil)
	if err := u.installScanDBs(); err != nil || len(u.carriedDBs()) != 0 {
		t.Fatal(err)
	}
	if _, err := os.Stat(trivyCache(dv)); err == nil {
		t.Error("a DB was installed for a Harbor without trivy")
	}
	f := &facts{in: &Install{DataVolume: dv}}
	if c := u.scanDBCheck(f); !c.OK || !c.Warn || !strings.Contains(c.Detail, "--components trivy") {
		t.Errorf("check without trivy: %+v", c)
	}
}

// setTrivyKeys on the real 2.15.2 harbor.yml.tmpl: the catalog's keys for what is carried (no
// Java DB: skip_java_db_update stays false), comments and mode kept.
func TestUpgradeSetsTrivyKeys(t *testing.T) {
	root := harborreal.RequireRoot(t)
	u, _ := upgradeWithDB(t, newDBSource(t, refreshNew), []string{harbor.Trivy})
	cfg := filepath.Join(t.TempDir(), "harbor.yml")
	b, err := os.ReadFile(filepath.Join(root, "installer", "v2.15.2", "harbor.yml.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, b, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := u.setTrivyKeys(cfg); err != nil {
		t.Fatal(err)
	}
	c, err := harbor.ReadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !c.TrivyFlag(harbor.TrivySkipUpdate) || !c.TrivyFlag(harbor.TrivyOfflineScan) || c.TrivyFlag(harbor.TrivySkipJavaDBUpdate) {
		t.Errorf("trivy flags: skip_update %v offline_scan %v skip_java_db_update %v", c.TrivyFlag(harbor.TrivySkipUpdate),
			c.TrivyFlag(harbor.TrivyOfflineScan), c.TrivyFlag(harbor.TrivySkipJavaDBUpdate))
	}
	after, _ := os.ReadFile(cfg)
	if !strings.Contains(string(after), "# The offline_scan option prevents Trivy from sending API requests") {
		t.Error("comments lost")
	}
	if st, _ := os.Stat(cfg); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %o", st.Mode().Perm())
	}
}
