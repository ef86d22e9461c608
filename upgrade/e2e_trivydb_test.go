package upgrade

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/harborbundle/bundle/builder"
	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/internal/fakeharbor/release"
	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/scandb"
)

// Issue 16 end to end: Trivy's vulnerability DB carried by an upgrade bundle and by DB-only
// refresh bundles, each built by the real builder pulling the DB artifacts over the registry
// protocol from the fake registry, run on a fake Harbor installed by its real installer.

// The DBs' UpdatedAt: a DB put in by hand before the upgrade, the one the upgrade carries, a
// newer one (refresh) and an older one (refused).
var (
	dbByHand  = time.Date(2026, 11, 6, 6, 0, 0, 0, time.UTC)
	dbUpgrade = time.Date(2026, 11, 20, 6, 12, 29, 0, time.UTC)
	dbNewer   = time.Date(2026, 11, 27, 6, 3, 1, 0, time.UTC)
	dbOlder   = time.Date(2026, 11, 13, 6, 0, 0, 0, time.UTC)
)

// trivyRuns are the .runs of this test.
type trivyRuns struct {
	upgrade, newer, older, corrupt string
}

// buildTrivyRuns builds, from one fake server, the 2.15.2 upgrade .run with both DBs (updated
// dbUpgrade), a DB-only .run of a newer and of an older trivy-db, and a copy of the newer one
// with one byte of its DB blob flipped.
func buildTrivyRuns(t *testing.T) trivyRuns {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	dir := filepath.Join(artifactsDir, "trivydb")
	stub := filepath.Join(dir, "bundle")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := goBuildBundle(stub, "-trimpath"); err != nil {
		t.Fatal(err)
	}
	srv, err := fakeharbor.Start(ctx, fakeharbor.Options{Versions: []string{"v2.15.2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	push := func(prefix string, kind string, at time.Time) string {
		ref, _, err := srv.PushTrivyDB(ctx, kind, prefix+"/"+fakeharbor.TrivyDBRepoTag(kind), at)
		if err != nil {
			t.Fatal(err)
		}
		return ref
	}
	build := func(o builder.Options, out string) string {
		o.Output, o.Stub, o.BuilderVersion, o.CacheDir = out, stub, "e2e-test", filepath.Join(dir, "cache")
		res, err := builder.Build(ctx, o)
		if err != nil {
			t.Fatalf("building %s: %v", out, err)
		}
		return res.File
	}
	var r trivyRuns
	r.upgrade = build(builder.Options{Version: "v2.15.2", Registry: srv.RegistryAddr, InsecureRegistry: true,
		Installer: srv.InstallerURL("v2.15.2", false), WithTrivyDB: true, WithTrivyJavaDB: true,
		TrivyDBRepository:     push("upgrade", payload.ScanDBTrivy, dbUpgrade),
		TrivyJavaDBRepository: push("upgrade", payload.ScanDBTrivyJava, dbUpgrade)},
		filepath.Join(dir, "harbor-upgrade-2.15.run"))
	for _, x := range []struct {
		dst *string
		at  time.Time
	}{{&r.newer, dbNewer}, {&r.older, dbOlder}} {
		out := filepath.Join(dir, x.at.Format("20060102"))
		os.MkdirAll(out, 0o755)
		*x.dst = build(builder.Options{TrivyDBOnly: true, TrivyDBRepository: push(x.at.Format("d20060102"), payload.ScanDBTrivy, x.at)}, out)
	}
	// The corrupt copy: the newer .run with one byte of its DB layer flipped.
	b, err := os.ReadFile(r.newer)
	if err != nil {
		t.Fatal(err)
	}
	layer, _ := fakeharbor.TrivyDBLayer(payload.ScanDBTrivy, dbNewer)
	i := bytes.Index(b, layer)
	if i < 0 || bytes.Contains(b[i+1:], layer) {
		t.Fatalf("the DB layer is not in %s exactly once", r.newer)
	}
	b[i+len(layer)/2] ^= 0xff
	r.corrupt = filepath.Join(dir, "corrupt", filepath.Base(r.newer))
	os.MkdirAll(filepath.Dir(r.corrupt), 0o755)
	if err := os.WriteFile(r.corrupt, b, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("built the upgrade .run with the DBs and 3 DB-only .runs in %s", time.Since(start).Round(time.Millisecond))
	return r
}

// putDBByHand installs a trivy-db as Harbor's harbor.yml tells an administrator to (trivy.db and
// metadata.json in data_volume/trivy-adapter/trivy/db): the upgrade must keep it in its backup.
func putDBByHand(t *testing.T, h *fakeharbor.Harbor) {
	t.Helper()
	layer, err := fakeharbor.TrivyDBLayer(payload.ScanDBTrivy, dbByHand)
	if err != nil {
		t.Fatal(err)
	}
	if err := scandb.Unpack(bytes.NewReader(layer), payload.ScanDBTrivy, filepath.Join(trivyCache(h.DataVolume), "db"), scandb.AdapterUID, scandb.AdapterGID); err != nil {
		t.Fatal(err)
	}
}

// adapterSays is the adapter's metadata properties and its /probe/ready answer, read in its
// container as bundle reads them.
func adapterSays(t *testing.T, h *fakeharbor.Harbor) (props map[string]string, ready bool) {
	t.Helper()
	ctx := context.Background()
	out, err := h.Docker.Exec(ctx, adapterContainer, "curl", "--fail", "-s", "http://127.0.0.1:8080/api/v1/metadata")
	if err != nil {
		t.Fatalf("reading the adapter's metadata: %v", err)
	}
	var m struct{ Properties map[string]string }
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("adapter metadata %q: %v", out, err)
	}
	_, err = h.Docker.Exec(ctx, adapterContainer, "curl", "--fail", "-s", "http://127.0.0.1:8080/probe/ready")
	return m.Properties, err == nil
}

// assertDB checks kind's DB dir under the data volume: the files Trivy expects, owned by the
// adapter's user with Trivy's modes, updated at at.
func assertDB(t *testing.T, dv, kind string, at time.Time) {
	t.Helper()
	dir, files, _ := scandb.Layout(kind)
	path := filepath.Join(trivyCache(dv), dir)
	for _, p := range append([]string{path}, filepath.Join(path, files[0]), filepath.Join(path, files[1])) {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Errorf("%v", err)
			continue
		}
		want := uint32(scandb.FileMode)
		if p == path {
			want = scandb.DirMode
		}
		if st.Uid != scandb.AdapterUID || st.Gid != scandb.AdapterGID || st.Mode&0o7777 != want {
			t.Errorf("%s: owner %d:%d mode %o, want %d:%d %o", p, st.Uid, st.Gid, st.Mode&0o7777, scandb.AdapterUID, scandb.AdapterGID, want)
		}
	}
	m, ok, err := scandb.Installed(trivyCache(dv), kind)
	if err != nil || !ok || m.UpdatedAt != at.Format(time.RFC3339Nano) {
		t.Errorf("%s installed: %+v %v %v, want updated %s", kind, m, ok, err, at.Format(time.RFC3339))
	}
}

// TestE2ETrivyDB: 2.13.5 with trivy and a DB put in by hand -> 2.15.2 with the DBs the bundle
// carries (in place with owner and modes, harbor.yml keeps Trivy offline, the adapter serves the
// carried DB, the one by hand in the backup, projects and repositories intact, plus everything
// TestE2E2xUpgrade2135TrivyTo2152 checked: PostgreSQL 15 -> 18, valkey, plugin, _version); then
// on the running 2.15.2 a DB-only refresh with a newer DB (swapped, previous kept, adapter
// serves it), one with an older DB (refused, host unchanged) and one whose DB blob is corrupt
// (refused before any change).
func TestE2ETrivyDB(t *testing.T) {
	runs := buildTrivyRuns(t)
	runUpgrade2x(t, upgrade2x{from: "v2.13.5", to: "v2.15.2", components: []string{release.Trivy}, run: runs.upgrade,
		before: []string{"pg15=15"}, layout: []string{"pg18=18"}, plugin: true, cfgVersion: "2.15.0",
		flags: []string{"--with-trivy"},
		images: map[string]string{"redis": "goharbor/valkey-photon", "trivy-adapter": "goharbor/trivy-adapter-photon",
			"harbor-db": "goharbor/harbor-db"},
		logWants: []string{"migrating harbor.yml with goharbor/prepare:v2.15.2 migrate",
			"set trivy.skip_update, trivy.skip_java_db_update, trivy.offline_scan: true", "installed trivy-db updated " + dbUpgrade.Format(time.RFC3339)},
		refusals: func(t *testing.T, h *fakeharbor.Harbor) {
			putDBByHand(t, h)
			if p, ready := adapterSays(t, h); !ready || p[propDBUpdatedAt] != "" {
				// skip_update is off: the adapter is ready and reports no DB until restarted.
				t.Logf("2.13.5 adapter before the upgrade: ready %v, %v", ready, p)
			}
		},
		after: func(t *testing.T, h *fakeharbor.Harbor, seeded *fakeharbor.Seeded, backup string) {
			assertDB(t, h.DataVolume, payload.ScanDBTrivy, dbUpgrade)
			assertDB(t, h.DataVolume, payload.ScanDBTrivyJava, dbUpgrade)
			cfg, err := harbor.ReadConfig(filepath.Join(h.Dir, "harbor.yml"))
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{harbor.TrivySkipUpdate, harbor.TrivyOfflineScan, harbor.TrivySkipJavaDBUpdate} {
				if !cfg.TrivyFlag(k) {
					t.Errorf("harbor.yml trivy.%s is not true after the upgrade", k)
				}
			}
			if b, _ := os.ReadFile(filepath.Join(h.Dir, "harbor.yml")); !strings.Contains(string(b), "# skipUpdate The flag to enable or disable Trivy DB downloads from GitHub") {
				t.Errorf("harbor.yml lost the template's trivy comments")
			}
			p, ready := adapterSays(t, h)
			if !ready || p[propDBUpdatedAt] != dbUpgrade.Format(time.RFC3339) || p["env.SCANNER_TRIVY_SKIP_UPDATE"] != "true" || p["env.SCANNER_TRIVY_OFFLINE_SCAN"] != "true" {
				t.Errorf("adapter after the upgrade: ready %v, %v", ready, p)
			}
			j := readJournalOf(t, backup)
			rec := j.Backup.Trees[payload.ScanDBTrivy]
			if m, err := os.ReadFile(filepath.Join(rec.Path, "metadata.json")); !rec.Complete || err != nil || !strings.Contains(string(m), `"UpdatedAt":"`+dbByHand.Format(time.RFC3339)) {
				t.Errorf("the DB put in by hand is not in the backup: %+v: %s %v", rec, m, err)
			}
			refreshes(t, h, seeded, runs)
		},
	})
}

// refreshes runs the DB-only .runs on the upgraded 2.15.2.
func refreshes(t *testing.T, h *fakeharbor.Harbor, seeded *fakeharbor.Seeded, runs trivyRuns) {
	ctx := context.Background()
	backup := filepath.Join(h.Parent, "refresh-backups")

	// A newer DB: swapped in, the previous one kept beside it, the adapter serves the new one.
	start := time.Now()
	res := runBundle(t, runs.newer, "--yes", "--backup-dir", backup, "--health-timeout", "2m")
	t.Logf("DB-only refresh took %s", time.Since(start).Round(time.Millisecond))
	if res.code != 0 {
		t.Fatalf("refresh with a newer DB: %s", res)
	}
	assertDB(t, h.DataVolume, payload.ScanDBTrivy, dbNewer)
	assertDB(t, h.DataVolume, payload.ScanDBTrivyJava, dbUpgrade)
	if p, ready := adapterSays(t, h); !ready || p[propDBUpdatedAt] != dbNewer.Format(time.RFC3339) {
		t.Errorf("adapter after the refresh: ready %v, %v", ready, p)
	}
	prev, _ := filepath.Glob(filepath.Join(trivyCache(h.DataVolume), "db.previous-*"))
	if len(prev) != 1 || !strings.Contains(res.stdout+res.stderr, prev[0]) {
		t.Fatalf("previous DBs %v, output must name it:\n%s", prev, res)
	}
	if m, err := os.ReadFile(filepath.Join(prev[0], "metadata.json")); err != nil || !strings.Contains(string(m), dbUpgrade.Format(time.RFC3339)) {
		t.Errorf("the previous DB %s: %s %v", prev[0], m, err)
	}
	if err := h.CheckSeeded(ctx, seeded); err != nil {
		t.Errorf("seeded data after the refresh: %v", err)
	}

	// An older DB is refused, naming both dates; a corrupt DB blob is refused before any change.
	refused(t, h, runs.older, nil, "older than the installed one", dbOlder.Format(time.RFC3339), dbNewer.Format(time.RFC3339), "--force")
	refused(t, h, runs.corrupt, nil, "the bundle is damaged")
	if p, ready := adapterSays(t, h); !ready || p[propDBUpdatedAt] != dbNewer.Format(time.RFC3339) {
		t.Errorf("adapter after the refusals: ready %v, %v", ready, p)
	}
	fmt.Fprintln(os.Stderr) // keep the verbose log readable
}
