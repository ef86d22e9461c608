package upgrade

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harborbundle/bundle/builder"
	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// Multi-hop bundles end to end on the machine's Docker engine: the real .run of a chain (built
// by the real builder with --from from the fake registry and each hop's installer), run on fake
// Harbors installed by their real installers, each hop running its own install.sh, migrator or
// prepare migrate, harbor-db PostgreSQL step and core schema migration.

var chainRuns struct {
	mu   sync.Mutex
	runs map[string]*run2xEntry
}

// bundleChainRun returns the .run of target built --from from, building it on first use.
func bundleChainRun(t *testing.T, target, from string) string {
	t.Helper()
	path, err := chainRun(target, from)
	if err != nil {
		t.Fatalf("building the %s --from %s .run: %v", target, from, err)
	}
	return path
}

// chainRun is bundleChainRun without a test: prebuildRuns builds ahead with it.
func chainRun(target, from string) (string, error) {
	key := from + "-" + target
	chainRuns.mu.Lock()
	if chainRuns.runs == nil {
		chainRuns.runs = map[string]*run2xEntry{}
	}
	e := chainRuns.runs[key]
	if e == nil {
		e = &run2xEntry{}
		chainRuns.runs[key] = e
	}
	chainRuns.mu.Unlock()
	e.once.Do(func() { e.path, e.err = buildChainRun(filepath.Join(artifactsDir, "chain-"+key), target, from) })
	return e.path, e.err
}

func buildChainRun(dir, target, from string) (string, error) {
	ctx := context.Background()
	start := time.Now()
	cat, err := harbor.DefaultCatalog()
	if err != nil {
		return "", err
	}
	tr, err := cat.Get(target)
	if err != nil {
		return "", err
	}
	ch, err := cat.ChainFrom(from, tr)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	stub := filepath.Join(dir, "bundle")
	if err := goBuildBundle(stub, "-tags", "failpoint", "-trimpath"); err != nil {
		return "", err
	}
	srv, err := fakeharbor.Start(ctx, fakeharbor.Options{Versions: ch.Versions()})
	if err != nil {
		return "", err
	}
	defer srv.Close()
	run := filepath.Join(dir, "harbor-upgrade-"+from+"-to-"+target+".run")
	res, err := builder.Build(ctx, builder.Options{
		Version: target, From: []string{from}, Output: run, Registry: srv.RegistryAddr, InsecureRegistry: true,
		InstallerBase: srv.InstallersURL, CacheDir: filepath.Join(dir, "cache"), Stub: stub, BuilderVersion: "e2e-test",
	})
	if err != nil {
		return "", fmt.Errorf("building the bundle: %w", err)
	}
	os.RemoveAll(filepath.Join(dir, "cache"))
	fmt.Fprintf(os.Stderr, "upgrade e2e: built %s (%d bytes, hops %s) in %s\n", run, res.Size, strings.Join(ch.Versions(), " -> "), time.Since(start).Round(time.Millisecond))
	return run, nil
}

// fastMigrations makes the fake core's schema steps quick (a data_volume knob, as real
// migrations are quick on a small database); the knob dir is not part of the backed-up trees.
func fastMigrations(t *testing.T, h *fakeharbor.Harbor) string {
	t.Helper()
	knobs := filepath.Join(h.DataVolume, ".fakeharbor")
	if err := os.MkdirAll(knobs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(knobs, "migration-step-ms"), []byte("5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return knobs
}

// hopTimes logs the wall time of each hop and of the whole run from the journal's steps.
func hopTimes(t *testing.T, j *Journal) map[string]time.Duration {
	t.Helper()
	per := map[string]time.Duration{}
	var order []string
	for _, s := range j.Steps {
		hop, _ := splitStepName(s.Name)
		if hop == "" {
			hop = "stop+backup"
		}
		if _, ok := per[hop]; !ok {
			order = append(order, hop)
		}
		per[hop] += s.Took
	}
	var parts []string
	for _, h := range order {
		parts = append(parts, fmt.Sprintf("%s %s", h, per[h].Round(100*time.Millisecond)))
	}
	t.Logf("wall time per hop: %s; whole run %s", strings.Join(parts, ", "), j.Updated.Sub(j.Created).Round(100*time.Millisecond))
	return per
}

// checkChainDone checks a chain that ended on target: healthy, seeded data there, counts as
// before at every hop, every step of every hop done.
func checkChainDone(t *testing.T, h *fakeharbor.Harbor, backup, target string, seeded *fakeharbor.Seeded, p0, r0 int, hops []string) *Journal {
	t.Helper()
	ctx := context.Background()
	if err := h.WaitHealthy(ctx, target, time.Minute); err != nil {
		t.Fatalf("after the chain: %v", err)
	}
	if err := h.CheckSeeded(ctx, seeded); err != nil {
		t.Errorf("seeded data after the chain: %v", err)
	}
	p1, r1, err := fakeharbor.DBCounts(ctx, h.Docker, "harbor-db")
	if err != nil || p1 != p0 || r1 != r0 {
		t.Errorf("harbor-db counts after: %d projects, %d repositories (%v); before %d, %d", p1, r1, err, p0, r0)
	}
	j := readJournalOf(t, backup)
	want := DataCounts{Projects: p0, Repositories: r0}
	if j.State != StateDone || j.Chain == nil || j.To != target || !strings.HasSuffix(j.ID, "-to-"+target) || j.CountsBefore == nil || *j.CountsBefore != want || j.CountsAfter == nil || *j.CountsAfter != want {
		t.Fatalf("journal: state %s, chain %+v, counts %v %v", j.State, j.Chain, j.CountsBefore, j.CountsAfter)
	}
	var got []string
	for _, hr := range j.Chain.Hops {
		got = append(got, hr.Version)
	}
	if !slices.Equal(got, hops) {
		t.Errorf("journal hops %v, want %v", got, hops)
	}
	for _, name := range chainSteps(j.Chain) {
		if j.StepStatus(name) != StatusDone {
			t.Errorf("step %s: %q", name, j.StepStatus(name))
		}
	}
	for _, v := range hops[:len(hops)-1] {
		if _, err := os.Stat(filepath.Join(hopDir(j, v), "harbor.yml")); err != nil {
			t.Errorf("hop %s's install dir not kept: %v", v, err)
		}
	}
	return j
}

// TestE2EChain194To243: a 1.9.4 host reaches 2.4.3 in one run of one .run: hop v1.10.19 (the
// 1.x harbor-migrator, docker-compose v1), then v2.4.3 (prepare migrate, harbor-db moving
// PostgreSQL 9.6 to 13), each started, checked healthy and counted before the next.
func TestE2EChain194To243(t *testing.T) {
	run := bundleChainRun(t, "v2.4.3", "v1.9.4")
	ctx := context.Background()
	h, seeded := install2xHarbor(t, "v1.9.4")
	fastMigrations(t, h)
	p0, r0, err := fakeharbor.DBCounts(ctx, h.Docker, "harbor-db")
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(h.Parent, "backups")
	plan := runBundle(t, run, "--dry-run", "--backup-dir", backup)
	for _, w := range []string{"Upgrade Harbor v1.9.4 -> v2.4.3", "Hops (2,", "1. v1.10.19 (from v1.9.4", "2. v2.4.3 (from v1.10.19",
		"_version 1.9.0 -> 1.10.0 with goharbor/harbor-migrator:v1.10.19", "_version 1.10.0 -> 2.4.0 with goharbor/prepare:v2.4.3",
		"PostgreSQL 9.6 -> 13", "Harbor starts at every hop", "v1.10.19/stop-hop", "v2.4.3/health"} {
		if !strings.Contains(plan.stdout, w) {
			t.Errorf("the dry-run plan lacks %q:\n%s", w, plan)
		}
	}
	if plan.code != 0 {
		t.Fatalf("dry run: %s", plan)
	}
	// A host on a version the bundle has no chain from is refused, naming the bundle it needs.
	refused(t, h, bundleChainRun(t, "v2.15.2", "v1.10.0"), nil, "this bundle has no chain from v1.9.4", "bundle build v2.15.2 --from 1.9.4")

	// --keep-progress: the second hop's core fails its schema migration (1.10.19 stops at 15,
	// 2.4.3 goes to 71): the host is left on a healthy v1.10.19 with its data as that hop left it;
	// `rollback` then returns to 1.9.4 byte-identical.
	cfg, _ := os.ReadFile(filepath.Join(h.Dir, "harbor.yml"))
	before := snapshot(t, h)
	knobs := filepath.Join(h.DataVolume, ".fakeharbor")
	if err := os.WriteFile(filepath.Join(knobs, "fail-migration-at"), []byte("40\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res := runBundle(t, run, "--yes", "--backup-dir", backup, "--health-timeout", "2m", "--keep-progress")
	os.Remove(filepath.Join(knobs, "fail-migration-at"))
	if res.code != 1 || !strings.Contains(res.stderr, "--keep-progress: Harbor v1.10.19") {
		t.Fatalf("want exit 1 and the host kept on v1.10.19: %s\n--- log\n%s", res, upgradeLogTail(backup))
	}
	if err := h.WaitHealthy(ctx, "v1.10.19", time.Minute); err != nil {
		t.Fatalf("not on a healthy v1.10.19 after --keep-progress: %v", err)
	}
	if err := h.CheckSeeded(ctx, seeded); err != nil {
		t.Errorf("data on the kept hop: %v", err)
	}
	if j := readJournalOf(t, backup); j.State != StateKeptProgress || j.Chain.KeptAt != "v1.10.19" || j.Chain.Checkpoint != "v1.10.19" ||
		len(j.Rollback) != 1 || j.Rollback[0].Name != "keep-progress:v1.10.19" || j.Rollback[0].Status != StatusDone {
		t.Errorf("journal after --keep-progress: state %s, chain %+v", j.State, j.Chain)
	}
	if r := runBundle(t, run, "rollback", "--yes", "--backup-dir", backup, "--health-timeout", "3m"); r.code != 0 {
		t.Fatalf("rollback from the kept hop: %s", r)
	}
	assertRestored2x(t, h, "v1.9.4", before, seeded, cfg)
	t.Logf("--keep-progress case (a hop, a failed hop, back to the first, rollback) took %s", time.Since(start).Round(time.Millisecond))
	os.RemoveAll(readJournalOf(t, backup).Dir())

	start = time.Now()
	res = runBundle(t, run, "--yes", "--backup-dir", backup, "--health-timeout", "4m", "-o", "json")
	t.Logf("1.9.4 -> 2.4.3 (2 hops) took %s", time.Since(start).Round(time.Millisecond))
	if res.code != 0 {
		t.Fatalf("chain failed: %s\n--- upgrade log (tail)\n%s", res, upgradeLogTail(backup))
	}
	rep := jsonReport(t, res.stdout)
	if hops, _ := rep["plan"].(map[string]any)["hops"].([]any); len(hops) != 2 {
		t.Errorf("-o json plan hops: %v", rep["plan"])
	}
	j := checkChainDone(t, h, backup, "v2.4.3", seeded, p0, r0, []string{"v1.10.19", "v2.4.3"})
	hopTimes(t, j)
	if got := dbLayout(t, h.DataVolume); !slices.Equal(got, []string{"pg13=13"}) {
		t.Errorf("database layout after the chain: %v", got)
	}
	if cfg, err := harbor.ReadConfig(filepath.Join(h.Dir, "harbor.yml")); err != nil || cfg.ConfigVersion() != "2.4.0" {
		t.Errorf("harbor.yml after the chain: %v %v", cfg, err)
	}
	log := upgradeLogTail(backup)
	for _, w := range []string{"migrating harbor.yml with goharbor/harbor-migrator:v1.10.19", "migrating harbor.yml with goharbor/prepare:v2.4.3 migrate"} {
		if !strings.Contains(log, w) {
			t.Errorf("the upgrade log lacks %q", w)
		}
	}
	// Preflight rehearsed both hops' migrations with the real migrator images on a copy, and
	// what it predicted is byte for byte what each hop then wrote.
	logs, _ := filepath.Glob(filepath.Join(backup, "*", LogName))
	full, _ := os.ReadFile(logs[0])
	for version, path := range map[string]string{"v1.10.19": filepath.Join(j.Dir(), "hops", "v1.10.19", "harbor.yml"), "v2.4.3": filepath.Join(h.Dir, "harbor.yml")} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("rehearsed hop %s: harbor.yml sha256:%x", version, sha256.Sum256(b)); !strings.Contains(string(full), want) {
			t.Errorf("the upgrade log lacks %q: the rehearsal did not predict the harbor.yml hop %s wrote", want, version)
		}
	}
	var rehearsal map[string]any
	checks, _ := rep["plan"].(map[string]any)["checks"].([]any)
	for _, c := range checks {
		if c, _ := c.(map[string]any); c["name"] == CheckMigrations {
			rehearsal = c
		}
	}
	if d, _ := rehearsal["detail"].(string); rehearsal["ok"] != true || !strings.Contains(d, "1.9.0 -> 1.10.0 (v1.10.19) -> 2.4.0 (v2.4.3)") {
		t.Errorf("the plan's %s check: %v", CheckMigrations, rehearsal)
	}
}

// TestE2EChain1100To2152: one 1.10.0 host and the seven-hop bundle to 2.15.2 (v2.4.3 v2.6.4
// v2.8.6 v2.10.3 v2.12.4 v2.14.4 v2.15.2):
//
//	(a) the fourth hop's core fails its schema migration: the chain rolls back to 1.10.0,
//	    database and secret byte-identical (three hops had pg_upgraded and migrated them);
//	(b) kill -9 while the third hop's install.sh runs, then `rollback`: 1.10.0 identical;
//	(c) kill -9 there again, then --resume: it continues in the third hop and ends on a
//	    healthy 2.15.2 with the seeded data.
func TestE2EChain1100To2152(t *testing.T) {
	run := bundleChainRun(t, "v2.15.2", "v1.10.0")
	ctx := context.Background()
	h, seeded := install2xHarbor(t, "v1.10.0")
	knobs := fastMigrations(t, h)
	p0, r0, err := fakeharbor.DBCounts(ctx, h.Docker, "harbor-db")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(filepath.Join(h.Dir, "harbor.yml"))
	before := snapshot(t, h)
	backup := filepath.Join(h.Parent, "backups")
	hops := []string{"v2.4.3", "v2.6.4", "v2.8.6", "v2.10.3", "v2.12.4", "v2.14.4", "v2.15.2"}

	t.Run("fourth_hop_fails", func(t *testing.T) {
		// 2.8.6's core stops at schema 111, 2.10.3's goes to 130: 120 fails in the fourth hop.
		if err := os.WriteFile(filepath.Join(knobs, "fail-migration-at"), []byte("120\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(filepath.Join(knobs, "fail-migration-at"))
		start := time.Now()
		res := runBundle(t, run, "--yes", "--backup-dir", backup, "--health-timeout", "2m")
		t.Logf("three hops, a failed fourth and the rollback took %s", time.Since(start).Round(time.Millisecond))
		if res.code != 1 || !strings.Contains(res.stderr, "Rolled back") || !strings.Contains(res.stderr, "v2.10.3/health") {
			t.Fatalf("want exit 1, a failure in v2.10.3/health and an automatic rollback: %s\n--- log\n%s", res, upgradeLogTail(backup))
		}
		j := readJournalOf(t, backup)
		if j.State != StateRolledBack || j.Chain.Current != 3 || j.StepStatus("v2.8.6/stop-hop") != StatusDone {
			t.Errorf("journal: state %s, current hop %d, v2.8.6/stop-hop %q", j.State, j.Chain.Current, j.StepStatus("v2.8.6/stop-hop"))
		}
		hopTimes(t, j)
		assertRestored2x(t, h, "v1.10.0", before, seeded, cfg)
		if got := dbLayout(t, h.DataVolume); !slices.Equal(got, []string{"9.6"}) {
			t.Errorf("database layout after the rollback: %v", got)
		}
		os.RemoveAll(j.Dir()) // the next cases read the only journal
	})
	if t.Failed() {
		return
	}
	t.Run("kill_third_hop_rollback", func(t *testing.T) {
		start := time.Now()
		killAt(t, run, backup, "v2.8.6/install:running")
		j, _ := OpenJournal(backup)
		if j == nil || j.Chain.Current != 2 {
			t.Fatalf("journal after the kill: %+v", j)
		}
		if r := runBundle(t, run, "rollback", "--yes", "--backup-dir", backup, "--health-timeout", "3m"); r.code != 0 {
			t.Fatalf("rollback after the kill in the third hop: %s", r)
		}
		assertRestored2x(t, h, "v1.10.0", before, seeded, cfg)
		t.Logf("kill in the third hop, rollback: %s", time.Since(start).Round(time.Millisecond))
		os.RemoveAll(j.Dir())
	})
	if t.Failed() {
		return
	}
	t.Run("kill_third_hop_resume", func(t *testing.T) {
		start := time.Now()
		killAt(t, run, backup, "v2.8.6/install:running")
		res := runBundle(t, run, "--yes", "--resume", "--backup-dir", backup, "--health-timeout", "3m")
		if res.code != 0 {
			t.Fatalf("resume after the kill in the third hop: %s\n--- log\n%s", res, upgradeLogTail(backup))
		}
		if !strings.Contains(res.stdout, "resuming") || !strings.Contains(res.stdout, "v2.8.6/install") {
			t.Errorf("the resumed plan does not say where it resumes:\n%s", res.stdout)
		}
		j := checkChainDone(t, h, backup, "v2.15.2", seeded, p0, r0, hops)
		hopTimes(t, j)
		if got := dbLayout(t, h.DataVolume); !slices.Equal(got, []string{"pg18=18"}) {
			t.Errorf("database layout after the chain: %v", got)
		}
		t.Logf("kill in the third hop, resume to 2.15.2: %s", time.Since(start).Round(time.Millisecond))
	})
}

// TestE2EChain1100NotaryChartmuseumTo2152: a 1.10.0 with notary and chartmuseum, on https (2.x
// prepare refuses notary without it), reaches 2.15.2 in one run of the seven-hop bundle. Refused
// first, changing nothing, without --drop-components: chartmuseum goes at v2.8.6 and notary at
// v2.10.3, each named with its hop. With consent, each hop installs what it still has
// (notary and chartmuseum to v2.6.4, notary to v2.8.6, neither after).
func TestE2EChain1100NotaryChartmuseumTo2152(t *testing.T) {
	run := bundleChainRun(t, "v2.15.2", "v1.10.0")
	ctx := context.Background()
	start := time.Now()
	h := fakeharbor.Install(t, fakeharbor.InstallOptions{Version: "v1.10.0", Components: []string{release.Notary, release.Chartmuseum},
		HTTPS: true, HealthTimeout: 3 * time.Minute})
	env, err := h.ShimEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", strings.TrimPrefix(env[0], "PATH="))
	seeded, err := h.Seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fake v1.10.0 (notary, chartmuseum, https) installed and seeded in %s", time.Since(start).Round(time.Millisecond))
	fastMigrations(t, h)
	p0, r0, err := fakeharbor.DBCounts(ctx, h.Docker, "harbor-db")
	if err != nil {
		t.Fatal(err)
	}
	refused(t, h, run, nil, "no longer has chartmuseum, notary", "dropped at v2.8.6", "dropped at v2.10.3", "--drop-components chartmuseum,notary")
	backup := filepath.Join(h.Parent, "backups")
	start = time.Now()
	res := runBundle(t, run, "--yes", "--backup-dir", backup, "--health-timeout", "4m", "--drop-components", "notary,chartmuseum")
	t.Logf("1.10.0 (notary, chartmuseum) -> 2.15.2 (7 hops) took %s", time.Since(start).Round(time.Millisecond))
	if res.code != 0 {
		t.Fatalf("chain failed: %s\n--- upgrade log (tail)\n%s", res, upgradeLogTail(backup))
	}
	hops := []string{"v2.4.3", "v2.6.4", "v2.8.6", "v2.10.3", "v2.12.4", "v2.14.4", "v2.15.2"}
	j := checkChainDone(t, h, backup, "v2.15.2", seeded, p0, r0, hops)
	hopTimes(t, j)
	wantFlags := map[string]string{"v2.4.3": "--with-chartmuseum --with-notary", "v2.6.4": "--with-chartmuseum --with-notary",
		"v2.8.6": "--with-notary", "v2.10.3": "", "v2.15.2": ""}
	for _, hr := range j.Chain.Hops {
		got := slices.Sorted(slices.Values(hr.InstallFlags))
		if want, ok := wantFlags[hr.Version]; ok && strings.Join(got, " ") != want {
			t.Errorf("hop %s ran install.sh %q, want %q", hr.Version, hr.InstallFlags, want)
		}
	}
	cs, err := h.Containers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if strings.Contains(c.Name, "notary") || strings.Contains(c.Name, "chartmuseum") {
			t.Errorf("%s still runs on 2.15.2", c.Name)
		}
	}
}
