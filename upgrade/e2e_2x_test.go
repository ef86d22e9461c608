package upgrade

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/internal/docker"
	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// Harbor 2.x end to end on the machine's Docker engine: a fake Harbor installed by Harbor's REAL
// 2.x installer files (install.sh, common.sh, prepare, harbor.yml.tmpl), upgraded by the real
// .run of the target release (built by the real builder from the fake registry), which runs the
// target's real install.sh and the fake prepare's `migrate` (the real migration templates).

// runs2x holds one .run per target release, built once per test binary (-tags failpoint: the
// crash tests kill it at named points).
var runs2x struct {
	mu   sync.Mutex
	runs map[string]*run2xEntry
}

type run2xEntry struct {
	once sync.Once
	path string
	err  error
}

// bundleRun2x returns the .run of version, building it on first use.
func bundleRun2x(t *testing.T, version string) string {
	t.Helper()
	path, err := run2x(version)
	if err != nil {
		t.Fatalf("building the %s .run: %v", version, err)
	}
	return path
}

// run2x is bundleRun2x without a test: prebuildRuns builds ahead with it.
func run2x(version string) (string, error) {
	runs2x.mu.Lock()
	if runs2x.runs == nil {
		runs2x.runs = map[string]*run2xEntry{}
	}
	e := runs2x.runs[version]
	if e == nil {
		e = &run2xEntry{}
		runs2x.runs[version] = e
	}
	runs2x.mu.Unlock()
	e.once.Do(func() {
		e.path, e.err = buildRunFor(filepath.Join(artifactsDir, version), "harbor-upgrade-"+version+".run", version, fakeharbor.Options{}, "-tags", "failpoint")
	})
	return e.path, e.err
}

// install2xHarbor installs a fake Harbor by its real installer, seeds data and puts the docker
// shim on PATH for the rest of the test: the real 2.x prepare script asks for --privileged,
// which this engine cannot start (fakeharbor/harness_shim.go), and bundle runs that script.
func install2xHarbor(t *testing.T, version string, components ...string) (*fakeharbor.Harbor, *fakeharbor.Seeded) {
	t.Helper()
	return install2xHarborWith(t, fakeharbor.InstallOptions{Version: version, Components: components})
}

// install2xHarborWith is install2xHarbor with the install's options (HTTPS).
func install2xHarborWith(t *testing.T, opts fakeharbor.InstallOptions) (*fakeharbor.Harbor, *fakeharbor.Seeded) {
	t.Helper()
	start := time.Now()
	version, components := opts.Version, opts.Components
	opts.HealthTimeout = 3 * time.Minute
	h := fakeharbor.Install(t, opts)
	env, err := h.ShimEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", strings.TrimPrefix(env[0], "PATH="))
	seeded, err := h.Seed(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fake %s %v installed by its real install.sh and seeded in %s", version, components, time.Since(start).Round(time.Millisecond))
	return h, seeded
}

// dbLayout is what data_volume/database holds: "9.6" when PostgreSQL 9.6's cluster is the
// directory itself, and "pgNN" for each cluster directory with its PG_VERSION.
func dbLayout(t *testing.T, dv string) []string {
	t.Helper()
	db := filepath.Join(dv, "database")
	var out []string
	if b, err := os.ReadFile(filepath.Join(db, "PG_VERSION")); err == nil {
		out = append(out, strings.TrimSpace(string(b)))
	}
	entries, err := os.ReadDir(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "pg") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(db, e.Name(), "PG_VERSION"))
		if err != nil {
			t.Errorf("%s has no PG_VERSION: %v", e.Name(), err)
			continue
		}
		out = append(out, e.Name()+"="+strings.TrimSpace(string(b)))
	}
	return out
}

// upgrade2x is one successful 2.x upgrade and what it must leave.
type upgrade2x struct {
	from, to   string
	components []string
	args       []string // extra arguments of the .run
	layout     []string // dbLayout before, after
	before     []string
	flags      []string          // install.sh flags the new install ran with
	plugin     bool              // the new install runs with `docker compose` (v2 plugin)
	logWants   []string          // in the upgrade log
	logLacks   []string          // not in the upgrade log
	cfgVersion string            // harbor.yml _version afterwards (the -t default of the target's migrate.py)
	images     map[string]string // container name -> image repository it must run afterwards
	// refusals run on the installed, seeded Harbor before the upgrade (they change nothing).
	refusals func(t *testing.T, h *fakeharbor.Harbor)
	https    bool // installed with https on (fakeharbor.InstallOptions.HTTPS)
	// run is the .run to upgrade with; default bundleRun2x(to).
	run string
	// after runs on the upgraded Harbor once every check above passed.
	after func(t *testing.T, h *fakeharbor.Harbor, seeded *fakeharbor.Seeded, backup string)
}

// runUpgrade2x installs c.from, upgrades it with c.to's .run and checks the result.
func runUpgrade2x(t *testing.T, c upgrade2x) {
	ctx := context.Background()
	run := c.run
	if run == "" {
		run = bundleRun2x(t, c.to)
	}
	h, seeded := install2xHarborWith(t, fakeharbor.InstallOptions{Version: c.from, Components: c.components, HTTPS: c.https})
	if got := dbLayout(t, h.DataVolume); !slices.Equal(got, c.before) {
		t.Errorf("database layout of the installed %s: %v, want %v", c.from, got, c.before)
	}
	p0, r0, err := fakeharbor.DBCounts(ctx, h.Docker, "harbor-db")
	if err != nil {
		t.Fatal(err)
	}
	if p0 < 2 || r0 < 1 {
		t.Errorf("seeded harbor-db counts %d projects, %d repositories", p0, r0)
	}
	if c.refusals != nil {
		c.refusals(t, h)
	}
	backup := filepath.Join(h.Parent, "backups")
	start := time.Now()
	res := runBundle(t, run, append([]string{"--yes", "--backup-dir", backup, "--health-timeout", "4m", "-o", "json"}, c.args...)...)
	t.Logf("upgrade %s -> %s took %s", c.from, c.to, time.Since(start).Round(time.Millisecond))
	if res.code != 0 {
		t.Fatalf("upgrade failed: %s\n--- upgrade log (tail)\n%s", res, upgradeLogTail(backup))
	}
	if err := h.WaitHealthy(ctx, c.to, time.Minute); err != nil {
		t.Fatalf("after the upgrade: %v", err)
	}
	if err := h.CheckSeeded(ctx, seeded); err != nil {
		t.Errorf("seeded data after the upgrade: %v", err)
	}
	p1, r1, err := fakeharbor.DBCounts(ctx, h.Docker, "harbor-db")
	if err != nil || p1 != p0 || r1 != r0 {
		t.Errorf("harbor-db counts after: %d projects, %d repositories (%v); before %d, %d", p1, r1, err, p0, r0)
	}
	j := readJournalOf(t, backup)
	want := DataCounts{Projects: p0, Repositories: r0}
	if j.State != StateDone || j.CountsBefore == nil || j.CountsAfter == nil || *j.CountsBefore != want || *j.CountsAfter != want {
		t.Errorf("journal: state %s, counts before %v after %v, want %v", j.State, j.CountsBefore, j.CountsAfter, want)
	}
	if !slices.Equal(j.InstallFlags, c.flags) {
		t.Errorf("install.sh flags %q, want %q", j.InstallFlags, c.flags)
	}
	if j.ComposeNew.Plugin != c.plugin {
		t.Errorf("journal compose_new %+v, want plugin %v", j.ComposeNew, c.plugin)
	}
	if got := dbLayout(t, h.DataVolume); !slices.Equal(got, c.layout) {
		t.Errorf("database layout after the upgrade: %v, want %v", got, c.layout)
	}
	log := upgradeLogTail(backup)
	for _, w := range c.logWants {
		if !strings.Contains(log, w) {
			t.Errorf("the upgrade log lacks %q:\n%s", w, log)
		}
	}
	for _, w := range c.logLacks {
		if strings.Contains(log, w) {
			t.Errorf("the upgrade log has %q:\n%s", w, log)
		}
	}
	if cfg, err := harbor.ReadConfig(filepath.Join(h.Dir, "harbor.yml")); err != nil || cfg.ConfigVersion() != c.cfgVersion {
		t.Errorf("harbor.yml after the upgrade: _version %v (%v), want %s", cfg, err, c.cfgVersion)
	} else if cfg.DataVolume() != h.DataVolume || cfg.HTTPPort() != h.Port {
		t.Errorf("harbor.yml after the upgrade: data_volume %s, port %d", cfg.DataVolume(), cfg.HTTPPort())
	}
	cs, err := h.Containers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, repo := range c.images {
		if !slices.ContainsFunc(cs, func(ct docker.Container) bool { return ct.Name == name && strings.HasPrefix(ct.Image, repo+":") }) {
			t.Errorf("no container %s running %s", name, repo)
		}
	}
	for _, ct := range cs {
		v := ct.Labels["com.docker.compose.version"]
		if strings.HasPrefix(v, "2.") != c.plugin {
			t.Errorf("%s made by compose %s, want plugin %v", ct.Name, v, c.plugin)
		}
	}
	if c.after != nil {
		c.after(t, h, seeded, backup)
	}
}

func TestE2E2xUpgrade1100To206(t *testing.T) {
	runUpgrade2x(t, upgrade2x{from: "v1.10.0", to: "v2.0.6",
		before: []string{"9.6"}, layout: []string{"9.6"}, cfgVersion: "2.0.0",
		logWants: []string{"migrating harbor.yml with goharbor/prepare:v2.0.6 migrate"}})
}

// 1.10.0 with notary, clair and chartmuseum over https to 2.4.3: clair left the installer in
// 2.2, so the upgrade needs --drop-components clair; notary and chartmuseum are carried
// (--with-notary --with-chartmuseum). 2.4.3's real prepare refuses notary without https, so the
// install has https on: a certificate beside install.sh, which bundle carries into the new
// install dir, the http port redirecting to https, health read over https.
func TestE2E2xUpgrade1100NotaryClairChartmuseumHTTPSTo243(t *testing.T) {
	runUpgrade2x(t, upgrade2x{from: "v1.10.0", to: "v2.4.3", https: true,
		components: []string{release.Notary, release.Clair, release.Chartmuseum},
		args:       []string{"--drop-components", "clair"},
		before:     []string{"9.6"}, layout: []string{"pg13=13"}, cfgVersion: "2.4.0",
		flags: []string{"--with-notary", "--with-chartmuseum"},
		images: map[string]string{"notary-server": "goharbor/notary-server-photon", "notary-signer": "goharbor/notary-signer-photon",
			"chartmuseum": "goharbor/chartmuseum-photon", "nginx": "goharbor/nginx-photon"},
		refusals: func(t *testing.T, h *fakeharbor.Harbor) {
			assertHTTPSInstall(t, h)
			refused(t, h, bundleRun2x(t, "v2.4.3"), nil, "no longer has clair", "--drop-components clair")
		}})
}

// assertHTTPSInstall checks a fake install with https on: notary's containers run healthy, the
// proxy publishes both ports, the http port answers 308 to the https one (the real
// nginx.https.conf.jinja), and harbor.yml names a certificate inside the install dir.
func assertHTTPSInstall(t *testing.T, h *fakeharbor.Harbor) {
	t.Helper()
	ctx := context.Background()
	cs, err := h.Containers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"notary-server", "notary-signer"} {
		if !slices.ContainsFunc(cs, func(c docker.Container) bool { return c.Name == name && c.State == "running" && c.Health == "healthy" }) {
			t.Errorf("the fake %s with notary runs no healthy %s", h.Version, name)
		}
	}
	noFollow := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(fmt.Sprintf("http://127.0.0.1:%d/api/systeminfo", h.Port))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := fmt.Sprintf("https://127.0.0.1:%d/api/systeminfo", h.HTTPSPort); resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Errorf("http port: %s to %q, want 308 to %s", resp.Status, resp.Header.Get("Location"), want)
	}
	cfg, err := harbor.ReadConfig(filepath.Join(h.Dir, "harbor.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := cfg.HTTPSPort(); !ok || p != h.HTTPSPort || !cfg.HTTPSEnabled() {
		t.Errorf("harbor.yml https.port %d (%v), want %d", p, ok, h.HTTPSPort)
	}
	if c, _ := cfg.Get("https", "certificate"); !strings.HasPrefix(c, h.Dir+"/") {
		t.Errorf("https.certificate %q is not in the install dir %s", c, h.Dir)
	}
}

// 2.2.4 -> 2.4.3 (9.6 -> 13) with docker-compose v1: 2.4's install.sh predates the plugin. Before
// it, the 2.10.3 bundle is refused on this 9.6 data (an undocumented path too).
func TestE2E2xUpgrade224To243(t *testing.T) {
	refuse := bundleRun2x(t, "v2.10.3") // built before the install takes the e2e lock
	runUpgrade2x(t, upgrade2x{from: "v2.2.4", to: "v2.4.3",
		before: []string{"9.6"}, layout: []string{"pg13=13"}, cfgVersion: "2.4.0",
		refusals: func(t *testing.T, h *fakeharbor.Harbor) {
			refused(t, h, refuse, nil, "Harbor v2.2.4 cannot be upgraded to v2.10.3 directly: upgrade to v2.4.x, then v2.6.x, then v2.8.x first",
				"the data is PostgreSQL 9.6 (database) but v2.10.3's harbor-db runs PostgreSQL 14 and upgrades only 13: it would initialise an EMPTY database")
		}})
}

// 2.8.6 -> 2.10.3 (13 -> 14) with the plugin. Before it, the 2.15.2 bundle is refused: not a
// documented path, and its harbor-db (15 -> 18) would find no cluster it upgrades in pg13 data.
func TestE2E2xUpgrade286To2103(t *testing.T) {
	refuse := bundleRun2x(t, "v2.15.2") // built before the install takes the e2e lock
	runUpgrade2x(t, upgrade2x{from: "v2.8.6", to: "v2.10.3",
		before: []string{"pg13=13"}, layout: []string{"pg14=14"}, plugin: true, cfgVersion: "2.10.0",
		refusals: func(t *testing.T, h *fakeharbor.Harbor) {
			refused(t, h, refuse, nil, "Harbor v2.8.6 cannot be upgraded to v2.15.2 directly: upgrade to v2.10.x, then v2.12.x, then v2.14.x first",
				"the data is PostgreSQL 13 (database/pg13) but v2.15.2's harbor-db runs PostgreSQL 18 and upgrades only 15: it would initialise an EMPTY database")
		}})
}

// 2.7.4 with chartmuseum -> 2.8.6, which drops chartmuseum: refused without consent, done with
// --drop-components chartmuseum (PostgreSQL 13 stays where it is).
func TestE2E2xUpgrade274ChartmuseumTo286(t *testing.T) {
	runUpgrade2x(t, upgrade2x{from: "v2.7.4", to: "v2.8.6", components: []string{release.Chartmuseum},
		args:   []string{"--drop-components", "chartmuseum"},
		before: []string{"pg13=13"}, layout: []string{"pg13=13"}, plugin: true, cfgVersion: "2.8.0",
		refusals: func(t *testing.T, h *fakeharbor.Harbor) {
			refused(t, h, bundleRun2x(t, "v2.8.6"), nil, "no longer has chartmuseum", "--drop-components chartmuseum")
		}})
}

// 2.13.5 with trivy -> 2.15.2 (PostgreSQL 15 -> 18, valkey, the plugin) is TestE2ETrivyDB
// (e2e_trivydb_test.go), which adds the Trivy DB the bundle carries and the DB-only refreshes.

func TestE2E2xUpgrade2151To2152Patch(t *testing.T) {
	runUpgrade2x(t, upgrade2x{from: "v2.15.1", to: "v2.15.2",
		before: []string{"pg15=15"}, layout: []string{"pg18=18"}, plugin: true, cfgVersion: "2.15.0",
		logWants: []string{"harbor.yml: already at _version 2.15.0, no migration needed"},
		logLacks: []string{"migrating harbor.yml with"}})
}

// refused runs the .run (with args) on h and checks it refuses with exit 2, every want in its
// output, and leaves the host exactly as it was (trees, images, containers).
func refused(t *testing.T, h *fakeharbor.Harbor, run string, args []string, wants ...string) {
	t.Helper()
	before := snapshot(t, h)
	backup := filepath.Join(h.Parent, "refused-backups")
	res := runBundle(t, run, append([]string{"--yes", "--backup-dir", backup}, args...)...)
	if res.code != 2 {
		t.Errorf("%s on %s: want exit 2: %s", filepath.Base(run), h.Version, res)
	}
	for _, w := range wants {
		if !strings.Contains(res.stdout+res.stderr, w) {
			t.Errorf("%s on %s: output lacks %q: %s", filepath.Base(run), h.Version, w, res)
		}
	}
	t.Logf("refused: %s", lastLine(res.stderr))
	assertUnchanged(t, before, snapshot(t, h))
	if js, _ := Journals(backup); len(js) != 0 {
		t.Errorf("a refusal left %d journals", len(js))
	}
}

// assertRestored2x checks the host after a rollback: version healthy, seeded data there,
// database and secret trees byte-identical to before the upgrade (pg_upgrade deleted the old
// cluster: only the backup brings it back), harbor.yml as it was.
func assertRestored2x(t *testing.T, h *fakeharbor.Harbor, version string, before *hostState, seeded *fakeharbor.Seeded, cfg []byte) {
	t.Helper()
	ctx := context.Background()
	if err := h.WaitHealthy(ctx, version, time.Minute); err != nil {
		t.Fatalf("not back on a healthy %s: %v", version, err)
	}
	if err := h.CheckSeeded(ctx, seeded); err != nil {
		t.Errorf("data after rollback: %v", err)
	}
	after := snapshot(t, h)
	for _, x := range []struct {
		name string
		a, b *TreeManifest
	}{{"database", before.database, after.database}, {"secret", before.secret, after.secret}} {
		if d := DiffTrees(x.a, x.b, TreeDiffOptions{}); len(d) > 0 {
			t.Errorf("%s after rollback differs from before the upgrade: %s", x.name, strings.Join(d, "\n  "))
		}
	}
	if now, _ := os.ReadFile(filepath.Join(h.Dir, "harbor.yml")); string(now) != string(cfg) {
		t.Errorf("harbor.yml after rollback differs:\n%s", now)
	}
}

// TestE2E2xFailedAndKilledUpgrades runs, on ONE fake 2.13.5 with trivy installed by its real
// install.sh (every case ends back on it, byte-identical: a second install would only cost lock
// time), the failure cases of a 2.13.5 -> 2.15.2 upgrade:
//   - failed_upgrade_rolls_back: the new 2.15.2 core fails its schema migration (the fake's
//     fail-migration-at knob in the data volume) after harbor-db moved PostgreSQL 15 to 18 and
//     deleted pg15; the upgrade rolls back by itself to a healthy 2.13.5 whose database tree is
//     byte-identical to before;
//   - kill: kill -9 after the images are loaded, then a resume finishes it (healthy 2.15.2, data
//     and counts intact) and rollback returns to 2.13.5; then kill -9 while install.sh runs, and
//     a rollback restores 2.13.5 byte-identical. (The kill matrix of every step is the 1.x
//     TestE2EKillMatrix: the steps are the same code for 2.x.)
func TestE2E2xFailedAndKilledUpgrades(t *testing.T) {
	run := bundleRun2x(t, "v2.15.2")
	h, seeded := install2xHarbor(t, "v2.13.5", release.Trivy)
	cfg, _ := os.ReadFile(filepath.Join(h.Dir, "harbor.yml"))
	before := snapshot(t, h)
	for _, c := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"failed_upgrade_rolls_back", func(t *testing.T) { failedUpgrade2x(t, h, run, before, seeded, cfg) }},
		{"kill", func(t *testing.T) { killedUpgrade2x(t, h, run, before, seeded, cfg) }},
	} {
		if !t.Run(c.name, c.run) {
			return // the next case would not start from 2.13.5
		}
	}
}

// failedUpgrade2x: the failed 2.15.2 migration and the automatic rollback (see above).
func failedUpgrade2x(t *testing.T, h *fakeharbor.Harbor, run string, before *hostState, seeded *fakeharbor.Seeded, cfg []byte) {
	knob := filepath.Join(h.DataVolume, ".fakeharbor", "fail-migration-at")
	if err := os.MkdirAll(filepath.Dir(knob), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(knob, []byte("170\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(knob) // the next case upgrades for real
	backup := filepath.Join(h.Parent, "backups-failed")
	// Watch the data dir meanwhile: the new harbor-db must have moved the data to pg18 (and
	// deleted pg15) before core failed, so that only the backup can bring pg15 back.
	stop, sawPG18 := make(chan struct{}), make(chan bool, 1)
	go func() {
		seen := false
		for {
			if _, err := os.Stat(filepath.Join(h.DataVolume, "database", "pg18", "PG_VERSION")); err == nil {
				if _, err := os.Stat(filepath.Join(h.DataVolume, "database", "pg15")); os.IsNotExist(err) {
					seen = true
				}
			}
			select {
			case <-stop:
				sawPG18 <- seen
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	res := runBundle(t, run, "--yes", "--backup-dir", backup, "--health-timeout", "1m")
	close(stop)
	t.Logf("failed upgrade and automatic rollback took %s", time.Since(start).Round(time.Millisecond))
	if !<-sawPG18 {
		t.Errorf("the new harbor-db never left pg18 without pg15: the rollback restored nothing pg_upgrade had deleted")
	}
	if res.code != 1 || !strings.Contains(res.stderr, "Rolled back") {
		t.Fatalf("want exit 1 and an automatic rollback: %s\n--- log\n%s", res, upgradeLogTail(backup))
	}
	j := readJournalOf(t, backup)
	if j.State != StateRolledBack {
		t.Errorf("journal state %s", j.State)
	}
	assertRestored2x(t, h, "v2.13.5", before, seeded, cfg)
	if got := dbLayout(t, h.DataVolume); !slices.Equal(got, []string{"pg15=15"}) {
		t.Errorf("database layout after the rollback: %v", got)
	}
}

// killedUpgrade2x: kill at load:end, resume, rollback; kill while install.sh runs, rollback.
func killedUpgrade2x(t *testing.T, h *fakeharbor.Harbor, run string, before *hostState, seeded *fakeharbor.Seeded, cfg []byte) {
	ctx := context.Background()
	backup := filepath.Join(h.Parent, "backups-kill")
	start := time.Now()
	killAt(t, run, backup, "load:end")
	if r := runBundle(t, run, "--yes", "--resume", "--backup-dir", backup, "--health-timeout", "3m"); r.code != 0 {
		t.Fatalf("resume after kill at load:end: %s\n--- log\n%s", r, upgradeLogTail(backup))
	}
	if err := h.WaitHealthy(ctx, "v2.15.2", time.Minute); err != nil {
		t.Fatalf("after resume: %v", err)
	}
	if err := h.CheckSeeded(ctx, seeded); err != nil {
		t.Errorf("data after resume: %v", err)
	}
	if got := dbLayout(t, h.DataVolume); !slices.Equal(got, []string{"pg18=18"}) {
		t.Errorf("database layout after the resumed upgrade: %v", got)
	}
	if r := runBundle(t, run, "rollback", "--yes", "--backup-dir", backup, "--health-timeout", "3m"); r.code != 0 {
		t.Fatalf("rollback of the resumed upgrade: %s", r)
	}
	assertRestored2x(t, h, "v2.13.5", before, seeded, cfg)
	t.Logf("load:end: kill, resume, rollback in %s", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	killAt(t, run, backup, "install:running")
	if r := runBundle(t, run, "rollback", "--yes", "--backup-dir", backup, "--health-timeout", "3m"); r.code != 0 {
		t.Fatalf("rollback after kill during install: %s", r)
	}
	assertRestored2x(t, h, "v2.13.5", before, seeded, cfg)
	t.Logf("install:running: kill, rollback in %s", time.Since(start).Round(time.Millisecond))
}
