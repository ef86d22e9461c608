package upgrade

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/payload"
)

func manifest110() *payload.Manifest {
	return &payload.Manifest{
		Release:      "v1.10.0",
		FromVersions: []string{"v1.8.0", "v1.8.6", "v1.9.0", "v1.9.4"},
		Components:   []string{"core", "notary", "clair", "chartmuseum"},
		InstallFlags: []string{"--with-notary", "--with-clair", "--with-chartmuseum"},
		Migration:    payload.Migration{Method: "harbor-migrator", Image: "goharbor/harbor-migrator:v1.10.0", Args: []string{"--cfg", "up"}},
	}
}

// goodFacts is a host where everything is fine.
func goodFacts() *facts {
	in := &Install{Dir: "/opt/harbor", Version: "v1.9.4", ConfigVersion: "1.9.0", DataVolume: "/data",
		HTTPPort: 80, Components: []string{"clair"}, Running: true, Images: []string{"goharbor/harbor-core:v1.9.4"}}
	return &facts{in: in, manifest: manifest110(), components: []string{"clair"},
		docker: "20.10.24+dfsg1", compose: "1.29.2", euid: 0,
		backupNeed: 20 << 20, backupFree: 10 << 30, imagesNeed: 1 << 30, imagesFree: 10 << 30,
		postgres: "PostgreSQL 9.6 (database, kept as it is)"}
}

func failedNames(cs []Check) []string {
	var out []string
	for _, c := range cs {
		if !c.OK {
			out = append(out, c.Name)
		}
	}
	return out
}

func TestEvaluateAllGood(t *testing.T) {
	cs := evaluate(goodFacts())
	if f := failedNames(cs); len(f) > 0 {
		t.Fatalf("failed on a good host: %v\n%+v", f, cs)
	}
	if len(cs) < 12 {
		t.Errorf("only %d checks", len(cs))
	}
}

// Each bad fact fails exactly its own check, and the others still run: one run names every
// problem.
func TestEvaluateEachProblem(t *testing.T) {
	cases := []struct {
		check, want string
		spoil       func(f *facts)
	}{
		{"upgrade path", "upgrade to v1.8.x first", func(f *facts) { f.in.Version = "v1.7.6" }},
		{"upgrade path", "downgrades", func(f *facts) { f.in.Version = "v2.0.0" }},
		{"upgrade path", "upgrades from", func(f *facts) { f.in.Version = "v1.9.5" }},
		{"docker", "too old", func(f *facts) { f.docker = "17.03.2-ce" }},
		{"docker", "not usable", func(f *facts) { f.dockerErr = errors.New("cannot connect") }},
		{"compose", "too old", func(f *facts) { f.compose = "1.17.1" }},
		{"database data", "EMPTY", func(f *facts) { f.postgres, f.postgresErr = "", errors.New("it would initialise an EMPTY database") }},
		{"database data", "not checked", func(f *facts) { f.postgres = "" }},
		{"dropped components", "--drop-components clair", func(f *facts) {
			f.drops = []harbor.Drop{{Component: "clair", Lost: "Clair scanning"}}
		}},
		{"root", "sudo", func(f *facts) { f.euid = 1000 }},
		{"backup space", "--backup-dir", func(f *facts) { f.backupFree = 1 << 20 }},
		{"image space", "only", func(f *facts) { f.imagesFree = 1 << 20 }},
		{"harbor.yml", "missing", func(f *facts) { f.configErr = errors.New("missing database.password") }},
		{"old images", "docker load -i harbor.v1.9.4.tar.gz", func(f *facts) { f.missingOld = []string{"goharbor/harbor-core:v1.9.4"} }},
		{"database", "dirty", func(f *facts) { f.dbErr = &DirtyDBError{Evidence: "x"} }},
		{"lock", "is running", func(f *facts) { f.lockErr = &LockedError{Path: "/x/.lock"} }},
		{"ports", "80", func(f *facts) { f.busyPorts = []int{80} }},
		{"backup place", "inside /opt/harbor", func(f *facts) { f.backupDir = "/opt/harbor/backups" }},
		{"components", "does not carry", func(f *facts) { f.componentsErr = errors.New("this bundle does not carry trivy") }},
		{"journal", "--resume", func(f *facts) { f.openJournal = &Journal{ID: "x", From: "v1.9.4", To: "v1.10.0", State: StateRunning} }},
	}
	for _, c := range cases {
		f := goodFacts()
		c.spoil(f)
		cs := evaluate(f)
		failed := failedNames(cs)
		if len(failed) != 1 || failed[0] != c.check {
			t.Errorf("%s: failed %v", c.check, failed)
			continue
		}
		for _, ch := range cs {
			if ch.Name == c.check && !strings.Contains(ch.Detail, c.want) {
				t.Errorf("%s: detail %q lacks %q", c.check, ch.Detail, c.want)
			}
		}
	}
}

func TestPathAlreadyInstalled(t *testing.T) {
	var already *harbor.AlreadyInstalledError
	if err := pathErr("v1.10.0", manifest110(), nil); !errors.As(err, &already) {
		t.Errorf("same version: %v", err)
	}
	if err := pathErr("1.8.6", manifest110(), nil); err != nil {
		t.Errorf("1.8.6: %v", err)
	}
}

// A refusal names the catalog's chain when the catalog knows it, not the bundle's oldest line:
// 2.2 cannot reach 2.8 in one hop, so "upgrade to v2.8.x first" would send the operator into a
// second refusal.
func TestPathRefusalNamesCatalogChain(t *testing.T) {
	m := manifest110()
	m.Release, m.FromVersions = "v2.10.3", []string{"v2.8.0", "v2.8.6", "v2.9.5"}
	err := pathErr("v2.2.4", m, []string{"v2.4.x", "v2.6.x", "v2.8.x"})
	if err == nil || !strings.Contains(err.Error(), "upgrade to v2.4.x, then v2.6.x, then v2.8.x first") {
		t.Errorf("with the catalog's chain: %v", err)
	}
	if err := pathErr("v2.2.4", m, nil); err == nil || !strings.Contains(err.Error(), "upgrade to v2.8.x first") {
		t.Errorf("without a catalog: %v", err)
	}
}

func TestLooseVersion(t *testing.T) {
	for in, want := range map[string]string{"17.06.2-ce": "17.6.2", "20.10.24+dfsg1": "20.10.24", "1.18": "1.18.0", "v1.29.2": "1.29.2"} {
		if got := looseVersion(in); got != want {
			t.Errorf("%s -> %s, want %s", in, got, want)
		}
	}
}

func TestChooseComponents(t *testing.T) {
	m := manifest110()
	m.Components = []string{"core", "clair"}
	in := &Install{Components: []string{"clair"}}
	if c, err := chooseComponents(in, m, nil, nil); err != nil || len(c) != 1 {
		t.Errorf("default: %v %v", c, err)
	}
	in.Components = []string{"clair", "notary"}
	if _, err := chooseComponents(in, m, nil, nil); err == nil || !strings.Contains(err.Error(), "--components clair,notary") {
		t.Errorf("bundle lacks notary: %v", err)
	}
	if c, err := chooseComponents(in, m, nil, []string{"none"}); err != nil || len(c) != 0 {
		t.Errorf("none: %v %v", c, err)
	}
}

func TestPlanRendering(t *testing.T) {
	f := goodFacts()
	p := &Plan{From: "v1.9.4", To: "v1.10.0", Install: f.in, BackupDir: "/var/backups/harbor",
		BackupBytes: 20 << 20, BackupFree: 10 << 30, ImagesToLoad: []string{"a", "b"}, ImageBytes: 300 << 20,
		InstallFlags: []string{"--with-clair"}, Checks: evaluate(f), Rollback: true,
		Notes: notes(f.in, "v1.10.0")}
	p.Steps = planSteps(p, "goharbor/harbor-migrator:v1.10.0")
	var b bytes.Buffer
	if err := p.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"Upgrade Harbor v1.9.4 -> v1.10.0", "docker-compose down in /opt/harbor (data kept: never -v)",
		"./install.sh --with-clair", "needs 20.0 MiB, 10.0 GiB free", "2 to load (300.0 MiB uncompressed)",
		"automatic rollback to v1.9.4", "ok    docker", "roles are now combined"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "quota sync") {
		t.Error("quota sync note on a 1.9 upgrade")
	}
	b.Reset()
	if err := p.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back["from"] != "v1.9.4" || len(back["steps"].([]any)) != 6 || len(back["checks"].([]any)) != len(p.Checks) {
		t.Errorf("json: %v", back)
	}
	f.in.Version = "v1.8.6"
	if n := strings.Join(notes(f.in, "v1.10.0"), "\n"); !strings.Contains(n, "quota sync") || !strings.Contains(n, "uid 10000") || !strings.Contains(n, "Replication") {
		t.Errorf("1.8 notes: %s", n)
	}
}

// TestConfigCheckUsesTheBundlesMigrationProgram: preflight holds harbor.yml to the program the
// bundle will migrate it with. A 1.10 file whose external_redis lacks clair_db_index is fine for
// the 1.x rules, but every 2.x `prepare migrate` reads that key in its 2.0.0 step and fails.
func TestConfigCheckUsesTheBundlesMigrationProgram(t *testing.T) {
	dir := t.TempDir()
	yml := "_version: 1.10.0\nhostname: reg.example.test\nhttp:\n  port: 80\n" +
		"external_redis:\n  host: redis.example.test\n  port: 6379\n  password: pw\n" +
		"  registry_db_index: 1\n  jobservice_db_index: 2\n  chartmuseum_db_index: 3\n"
	if err := os.WriteFile(filepath.Join(dir, "harbor.yml"), []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	in := &Install{Dir: dir}
	m := &payload.Manifest{Release: "v2.4.3", Migration: payload.Migration{Method: harbor.MethodPrepare}}
	if err := configCheck(in, m, "2.4.0"); err == nil || !strings.Contains(err.Error(), "clair_db_index") {
		t.Errorf("prepare migrate of v2.4.3: %v, want external_redis.clair_db_index named", err)
	}
	m = &payload.Manifest{Release: "v1.10.0", Migration: payload.Migration{Method: harbor.MethodMigrator}}
	if err := configCheck(in, m, "1.10.0"); err != nil {
		t.Errorf("already at 1.10.0 for the 1.x migrator: %v", err)
	}
}

// A 2.2.4 install with notary over http, upgraded by a 2.4.3 bundle that carries notary: 2.4.3's
// prepare refuses notary without https (the catalog's https_required_for), so preflight refuses
// before any change, saying what to do; with https in harbor.yml, or notary left out with
// --components, the https check passes.
func TestPreflightNotaryNeedsHTTPS(t *testing.T) {
	services := map[string]string{
		"core": "goharbor/harbor-core:v2.2.4", "postgresql": "goharbor/harbor-db:v2.2.4",
		"notary-server": "goharbor/notary-server-photon:v2.2.4", "notary-signer": "goharbor/notary-signer-photon:v2.2.4",
	}
	checks := func(t *testing.T, dir string, eng *planEngine, components ...string) map[string]Check {
		t.Helper()
		u, err := Prepare(context.Background(), Options{Bundle: bundle2x(t, "v2.4.3", "v2.2.4", "notary"), Engine: eng,
			HarborDir: dir, BackupDir: filepath.Join(t.TempDir(), "backups"), DryRun: true, Components: components})
		if u == nil {
			t.Fatalf("no plan: %v", err)
		}
		defer u.Close()
		out := map[string]Check{}
		for _, c := range u.Plan().Checks {
			out[c.Name] = c
		}
		if _, ok := out["https"]; !ok {
			t.Fatalf("no https check: %+v", u.Plan().Checks)
		}
		return out
	}

	dir, eng := install2x(t, "v2.2.4", "9.6", services)
	cfg := filepath.Join(dir, "harbor.yml")
	before, _ := os.ReadFile(cfg)
	c := checks(t, dir, eng)["https"]
	for _, want := range []string{"v2.4.3's prepare refuses notary without https", cfg + " has no https section",
		"configure https there first", "--components none"} {
		if c.OK || !strings.Contains(c.Detail, want) {
			t.Errorf("http-only notary install: https check %+v, want a refusal saying %q", c, want)
		}
	}
	if after, _ := os.ReadFile(cfg); !bytes.Equal(after, before) {
		t.Error("the refusal changed harbor.yml")
	}
	if c := checks(t, dir, eng, "none")["https"]; !c.OK {
		t.Errorf("notary left out with --components none: %+v", c)
	}

	// https on, with the certificate and key beside install.sh.
	for _, f := range []string{"server.crt", "server.key"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	yml := strings.Replace(string(before), "# https:\n", "https:\n", 1)
	yml = strings.Replace(yml, "#   port: 443\n", "  port: 18443\n", 1)
	yml = strings.Replace(yml, "#   certificate: /your/certificate/path\n", "  certificate: "+filepath.Join(dir, "server.crt")+"\n", 1)
	yml = strings.Replace(yml, "#   private_key: /your/private/key/path\n", "  private_key: "+filepath.Join(dir, "server.key")+"\n", 1)
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	if cf, err := harbor.ReadConfig(cfg); err != nil || !cf.HTTPSEnabled() {
		t.Fatalf("the fixture's https block did not take: %v\n%s", err, yml)
	}
	if c := checks(t, dir, eng)["https"]; !c.OK || !strings.Contains(c.Detail, "as v2.4.3's prepare needs for notary") {
		t.Errorf("https on: %+v", c)
	}
}
