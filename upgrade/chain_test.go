package upgrade

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/payload"
)

func chainManifest() *payload.Manifest {
	m := manifest110()
	m.Release, m.FromVersions = "v2.4.3", []string{"v1.9.4"}
	m.Images = []payload.Image{{Ref: "goharbor/harbor-core:v1.10.19", Component: "core"}, {Ref: "goharbor/harbor-core:v2.4.3", Component: "core"}}
	m.Entries = []payload.Entry{{Path: "images/x"}, {Path: "installer/v1.10.19/install.sh"}, {Path: "installer/v2.4.3/install.sh"}, {Path: "installer/v2.4.3/harbor.yml.tmpl"}}
	m.Hops = []payload.Hop{
		{Version: "v1.10.19", FromVersions: []string{"v1.9.4"}, Installer: payload.HopPrefix("v1.10.19"), Images: []string{"goharbor/harbor-core:v1.10.19"},
			Migration: payload.Migration{Method: "harbor-migrator", Image: "goharbor/harbor-migrator:v1.10.19"}},
		{Version: "v2.4.3", FromVersions: []string{"v1.10.19"}, Installer: payload.HopPrefix("v2.4.3"), Images: []string{"goharbor/harbor-core:v2.4.3"},
			Migration: payload.Migration{Method: "prepare-migrate", Image: "goharbor/prepare:v2.4.3"}, InstallFlags: []string{"--with-trivy"}},
	}
	m.Chains = []payload.Chain{{From: "v1.9.4", Hops: []string{"v1.10.19", "v2.4.3"}}}
	return m
}

// hopView makes each hop read as the one-hop bundle of its release: its own installer files at
// installer/, its images, its migration; the one-hop path check then accepts exactly the
// versions the hop is entered from.
func TestHopView(t *testing.T) {
	m := chainManifest()
	v := hopView(m, m.Hops[1])
	var paths []string
	for _, e := range v.Entries {
		paths = append(paths, e.Path)
	}
	if !slices.Equal(paths, []string{"images/x", "installer/install.sh", "installer/harbor.yml.tmpl"}) {
		t.Errorf("entries %v", paths)
	}
	if len(v.Images) != 1 || v.Images[0].Ref != "goharbor/harbor-core:v2.4.3" || v.Release != "v2.4.3" || v.Migration.Method != "prepare-migrate" || len(v.Hops) != 0 {
		t.Errorf("view %+v", v)
	}
	if err := pathErr("v1.10.19", v, nil); err != nil {
		t.Errorf("hop entered from its hop before: %v", err)
	}
	if err := pathErr("v1.9.4", v, nil); err == nil {
		t.Errorf("hop 2 accepted the chain's start")
	}
	if got := m.ChainFrom("v1.10.19"); len(got) != 1 || got[0].Version != "v2.4.3" {
		t.Errorf("a host part-way along: %v", got)
	}
}

type hopEntrySource struct {
	Source
	opened []string
}

func (s *hopEntrySource) OpenEntry(path string) (io.ReadCloser, error) {
	s.opened = append(s.opened, path)
	return io.NopCloser(strings.NewReader("")), nil
}

func TestHopSourceOpensTheHopsInstaller(t *testing.T) {
	src := &hopEntrySource{}
	hs := hopSource{Source: src, prefix: "installer/v2.4.3/"}
	hs.OpenEntry("installer/install.sh")
	hs.OpenEntry("images/x")
	if !slices.Equal(src.opened, []string{"installer/v2.4.3/install.sh", "images/x"}) {
		t.Errorf("opened %v", src.opened)
	}
}

// The chain's steps: one stop and one backup, then each hop's steps under its name, a stop-hop
// between hops; a resumed run finds its hop in the step name.
func TestChainSteps(t *testing.T) {
	c := &ChainRecord{Hops: []HopRecord{{Version: "v1.10.19"}, {Version: "v2.4.3"}}}
	want := "stop backup v1.10.19/load v1.10.19/migrate v1.10.19/install v1.10.19/health v1.10.19/stop-hop v2.4.3/load v2.4.3/migrate v2.4.3/install v2.4.3/health"
	if got := strings.Join(chainSteps(c), " "); got != want {
		t.Errorf("steps\n%s\nwant\n%s", got, want)
	}
	if h, s := splitStepName("v2.4.3/install"); h != "v2.4.3" || s != StepInstall {
		t.Errorf("split: %s %s", h, s)
	}
	if h, s := splitStepName(StepBackup); h != "" || s != StepBackup {
		t.Errorf("split: %s %s", h, s)
	}
}

// nextMigrationErr refuses a hop whose migrator has no way from the `_version` the hop before
// writes, and accepts the documented steps.
func TestNextMigrationErr(t *testing.T) {
	v := &payload.Manifest{Release: "v2.4.3", Migration: payload.Migration{Method: "prepare-migrate"}}
	if err := nextMigrationErr("1.10.0", "2.4.0", v); err != nil {
		t.Errorf("1.10.0 -> 2.4.0: %v", err)
	}
	if err := nextMigrationErr("1.8.0", "2.4.0", v); err == nil || !strings.Contains(err.Error(), "1.9.0") {
		t.Errorf("1.8.0 -> 2.4.0 by prepare: %v", err)
	}
	if err := nextMigrationErr("2.4.0", "2.4.0", v); err != nil {
		t.Errorf("no migration: %v", err)
	}
}

// chainBundle is a multi-hop bundle of the catalog's chain from from to target (core only).
func chainBundle(t *testing.T, target, from string) *entrySource {
	t.Helper()
	cat, err := harbor.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cat.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := cat.ChainFrom(from, tr)
	if err != nil {
		t.Fatal(err)
	}
	m := &payload.Manifest{Release: target, FromVersions: []string{from}, Components: []string{"core"}}
	prev := from
	for _, r := range ch.Hops {
		ref := "goharbor/harbor-core:" + r.Version
		m.Images = append(m.Images, payload.Image{Ref: ref, Component: "core", UncompressedSize: 1 << 20})
		m.Entries = append(m.Entries, payload.Entry{Path: payload.HopPrefix(r.Version) + "install.sh"})
		m.Hops = append(m.Hops, payload.Hop{Version: r.Version, FromVersions: []string{prev}, Components: []string{"core"},
			Migration:      payload.Migration{Method: r.Migration.Method, Image: r.Migration.Image, Args: r.Migration.Args},
			MigratesConfig: true, InstallFlags: r.InstallFlags, Installer: payload.HopPrefix(r.Version), Images: []string{ref}, EstimateSeconds: 100})
		prev = r.Version
	}
	m.Chains = []payload.Chain{{From: from, Hops: ch.Versions()}}
	m.Migration, m.InstallFlags = m.Hops[len(m.Hops)-1].Migration, m.Hops[len(m.Hops)-1].InstallFlags
	return &entrySource{m: m, files: map[string][]byte{}}
}

// A 2.8.6 host (PostgreSQL 13) and the chain to 2.15.2: the plan lists the four hops, what each
// does to harbor.yml and to PostgreSQL (13 -> 14 -> 15 -> kept -> 18, each hop's harbor-db
// upgrading what the one before left), its compose tool and estimate, and every step under its
// hop; the checks pass.
func TestPrepareChainPlan(t *testing.T) {
	dir, eng := install2x(t, "v2.8.6", "13", map[string]string{
		"core": "goharbor/harbor-core:v2.8.6", "postgresql": "goharbor/harbor-db:v2.8.6"})
	u, err := Prepare(context.Background(), Options{Bundle: chainBundle(t, "v2.15.2", "v2.8.6"), Engine: eng,
		HarborDir: dir, BackupDir: filepath.Join(t.TempDir(), "backups"), DryRun: true})
	if u == nil {
		t.Fatalf("no plan: %v", err)
	}
	defer u.Close()
	p := u.Plan()
	var text bytes.Buffer
	p.WriteText(&text)
	for _, c := range p.Checks {
		if !c.OK && c.Name != "old images" && c.Name != "image space" && c.Name != "ports" {
			t.Errorf("check %s failed: %s", c.Name, c.Detail)
		}
	}
	for _, want := range []string{"Upgrade Harbor v2.8.6 -> v2.15.2", "Hops (4, about 6m40s in all)",
		"1. v2.10.3 (from v2.8.6, about 1m40s)", "4. v2.15.2 (from v2.14.4",
		"_version 2.8.0 -> 2.10.0 with goharbor/prepare:v2.10.3 (prepare-migrate)", "PostgreSQL 13 -> 14", "PostgreSQL 14 -> 15",
		"PostgreSQL 15 (database/pg15, kept as it is)", "PostgreSQL 15 -> 18", "/api/v2.0/systeminfo reporting v2.12.4",
		"Harbor starts at every hop", "v2.10.3/stop-hop", "v2.15.2/health", "4 projects, 9 repositories"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, text.String())
		}
	}
	if len(p.Hops) != 4 || p.Hops[0].Compose.Name() != "docker compose" || p.To != "v2.15.2" {
		t.Errorf("plan hops %+v to %s", p.Hops, p.To)
	}
	var js bytes.Buffer
	p.WriteJSON(&js)
	for _, want := range []string{`"hops": [`, `"estimate_seconds": 100`, `"harbor_starts_every_hop"`} {
		if !strings.Contains(js.String(), want) {
			t.Errorf("-o json lacks %s", want)
		}
	}
}

// A host part-way along starts at its own hop; a version the bundle has no chain from is
// refused before any change, naming the bundle it needs.
func TestPrepareChainFromHop(t *testing.T) {
	dir, eng := install2x(t, "v2.12.4", "15", map[string]string{
		"core": "goharbor/harbor-core:v2.12.4", "postgresql": "goharbor/harbor-db:v2.12.4"})
	u, err := Prepare(context.Background(), Options{Bundle: chainBundle(t, "v2.15.2", "v2.8.6"), Engine: eng,
		HarborDir: dir, BackupDir: filepath.Join(t.TempDir(), "backups"), DryRun: true})
	if u == nil {
		t.Fatalf("no plan: %v", err)
	}
	u.Close()
	if p := u.Plan(); len(p.Hops) != 2 || p.Hops[0].Version != "v2.14.4" || p.Hops[0].From != "v2.12.4" {
		t.Errorf("hops from 2.12.4: %+v", p.Hops)
	}

	dir, eng = install2x(t, "v2.6.4", "13", map[string]string{
		"core": "goharbor/harbor-core:v2.6.4", "postgresql": "goharbor/harbor-db:v2.6.4"})
	u, err = Prepare(context.Background(), Options{Bundle: chainBundle(t, "v2.15.2", "v2.8.6"), Engine: eng,
		HarborDir: dir, BackupDir: filepath.Join(t.TempDir(), "backups"), DryRun: true})
	var pe *PreflightError
	if !errors.As(err, &pe) || len(pe.Failed) != 1 || !strings.Contains(pe.Error(), "no chain from v2.6.4") ||
		!strings.Contains(pe.Error(), "v2.8.6 -> v2.10.3") || !strings.Contains(pe.Error(), "bundle build v2.15.2 --from 2.6.4") {
		t.Errorf("2.6.4 host: %v", err)
	}
	if u != nil {
		u.Close()
	}
}

// A chain bundle carrying a Trivy DB (the builder refuses to make one) is refused before any
// change: the chain would not install it the way a one-hop upgrade does.
func TestPrepareChainRefusesScanDBs(t *testing.T) {
	dir, eng := install2x(t, "v2.8.6", "13", map[string]string{
		"core": "goharbor/harbor-core:v2.8.6", "postgresql": "goharbor/harbor-db:v2.8.6"})
	b := chainBundle(t, "v2.15.2", "v2.8.6")
	b.m.ScanDBs = []payload.ScanDB{{Kind: payload.ScanDBTrivy}}
	u, err := Prepare(context.Background(), Options{Bundle: b, Engine: eng,
		HarborDir: dir, BackupDir: filepath.Join(t.TempDir(), "backups"), DryRun: true})
	if u != nil {
		defer u.Close()
	}
	var pe *PreflightError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "--trivy-db-only") {
		t.Fatalf("a chain carrying a DB: %v, want a preflight refusal pointing to --trivy-db-only", err)
	}
}
