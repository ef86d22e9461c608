package upgrade

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/payload"
)

// rehearsalEngine is planEngine with the bundle's migrator images present (or loadable), whose
// Run goes to run by the image's release.
type rehearsalEngine struct {
	*planEngine
	ids    map[string]string
	loaded [][]string // refs of each docker load, read from the archive the source wrote
	run    func(release string, s RunSpec) error
	images []string // images run, in order
}

func (e *rehearsalEngine) ImageIDs(_ context.Context, refs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, r := range refs {
		if id, ok := e.ids[r]; ok {
			out[r] = id
		}
	}
	return out, nil
}

func (e *rehearsalEngine) Load(_ context.Context, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	refs := strings.Fields(string(b))
	e.loaded = append(e.loaded, refs)
	for _, ref := range refs {
		e.ids[ref] = "sha256:" + ref
	}
	return nil
}

func (e *rehearsalEngine) Run(_ context.Context, s RunSpec) error {
	e.images = append(e.images, s.Image)
	return e.run(s.Image[strings.LastIndex(s.Image, ":")+1:], s)
}

// archiveSource is a bundle whose DockerArchive writes the names of the images asked for.
type archiveSource struct{ *entrySource }

func (s archiveSource) DockerArchive(_ context.Context, w io.Writer, refs []string) error {
	_, err := io.WriteString(w, strings.Join(refs, " "))
	return err
}

// rehearsalFixture is a 2.8.6 host and the chain bundle to 2.15.2 with each hop's prepare image;
// loaded says which of them are in the image store already.
func rehearsalFixture(t *testing.T, loaded bool) (string, *rehearsalEngine, archiveSource) {
	dir, eng := install2x(t, "v2.8.6", "13", map[string]string{
		"core": "goharbor/harbor-core:v2.8.6", "postgresql": "goharbor/harbor-db:v2.8.6"})
	b := chainBundle(t, "v2.15.2", "v2.8.6")
	re := &rehearsalEngine{planEngine: eng, ids: map[string]string{}}
	for _, h := range b.m.Hops {
		img := payload.Image{Ref: h.Migration.Image, Component: "prepare", ConfigDigest: "sha256:" + h.Migration.Image, UncompressedSize: 1 << 20}
		b.m.Images = append(b.m.Images, img)
		if loaded {
			re.ids[img.Ref] = img.ConfigDigest
		}
	}
	return dir, re, archiveSource{b}
}

// prepareChainPlan runs Prepare and returns the prepared upgrade whatever the host's own checks
// say (planEngine's host has no images and its ports are taken): rehearseChain is called on it.
func prepareChainPlan(t *testing.T, dir string, eng Engine, src Source, dryRun bool) *Upgrade {
	t.Helper()
	u, err := Prepare(context.Background(), Options{Bundle: src, Engine: eng, HarborDir: dir, BackupDir: filepath.Join(t.TempDir(), "backups"), DryRun: dryRun})
	if u == nil {
		t.Fatalf("no plan: %v", err)
	}
	t.Cleanup(func() { u.Close() })
	if c := findCheck(u.Plan(), CheckMigrations); c == nil || !strings.Contains(c.Detail, "not rehearsed") {
		t.Errorf("with host checks failing the migrations are not rehearsed (nothing is loaded for a refused upgrade): %+v", c)
	}
	return u
}

func findCheck(p *Plan, name string) *Check {
	for i := range p.Checks {
		if p.Checks[i].Name == name {
			return &p.Checks[i]
		}
	}
	return nil
}

// Every hop's real `prepare migrate` (Harbor's own code) runs on the migrated file of the hop
// before: 2.8.0 -> 2.10.0 -> 2.12.0 -> 2.14.0 -> 2.15.0, each with its own release's code, and
// the host's harbor.yml is untouched.
func TestRehearseChainRealCode(t *testing.T) {
	dir, eng, src := rehearsalFixture(t, true)
	eng.run = func(release string, s RunSpec) error { return realPrepareMigrateRun(t, release)(s) }
	u := prepareChainPlan(t, dir, eng, src, true)
	before, _ := os.ReadFile(filepath.Join(dir, "harbor.yml"))
	c := u.rehearseChain(context.Background(), u.in)
	if !c.OK || c.Warn || !strings.Contains(c.Detail, "2.8.0 -> 2.10.0 (v2.10.3) -> 2.12.0 (v2.12.4) -> 2.14.0 (v2.14.4) -> 2.15.0 (v2.15.2)") {
		t.Errorf("check: %+v", c)
	}
	want := []string{"goharbor/prepare:v2.10.3", "goharbor/prepare:v2.12.4", "goharbor/prepare:v2.14.4", "goharbor/prepare:v2.15.2"}
	if !slices.Equal(eng.images, want) {
		t.Errorf("ran %v, want %v", eng.images, want)
	}
	if len(eng.loaded) != 0 {
		t.Errorf("loaded %v though every migrator was present", eng.loaded)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "harbor.yml")); !bytes.Equal(before, after) {
		t.Error("the rehearsal changed the host's harbor.yml")
	}
	if n := strings.Count(u.log.buf.String(), "rehearsed hop"); n != 4 {
		t.Errorf("%d hops rehearsed in the log:\n%s", n, u.log.buf.String())
	}
	if u.manifest.Release != "v2.10.3" {
		t.Errorf("the upgrade is left on hop %s, not the first", u.manifest.Release)
	}
}

// A later hop's migrator failing on what the hop before wrote refuses the chain, naming the hop,
// the image, the hop before and the migrator's last line; the temp copies are gone.
func TestRehearseChainLaterHopFails(t *testing.T) {
	dir, eng, src := rehearsalFixture(t, true)
	var inputs []string
	eng.run = func(release string, s RunSpec) error {
		inputs = append(inputs, s.Args[2])
		if release == "v2.12.4" {
			fmt.Fprintln(s.Stdout, "migrating to version 2.11.0\nTraceback (most recent call last):\njinja2.exceptions.UndefinedError: 'dict object' has no attribute 'notary_signer'")
			return errors.New("exit status 1")
		}
		return realPrepareMigrateRun(t, release)(s)
	}
	u := prepareChainPlan(t, dir, eng, src, true)
	c := u.rehearseChain(context.Background(), u.in)
	for _, want := range []string{"hop v2.12.4", "goharbor/prepare:v2.12.4", "as v2.10.3 leaves it (_version 2.10.0)", "no attribute 'notary_signer'", "nothing was changed"} {
		if c.OK || !strings.Contains(c.Detail, want) {
			t.Errorf("check lacks %q: %+v", want, c)
		}
	}
	if len(eng.images) != 2 {
		t.Errorf("ran %v: the hops after the failure must not run", eng.images)
	}
	for _, p := range inputs {
		if _, err := os.Stat(filepath.Dir(p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left behind", filepath.Dir(p))
		}
	}
}

// What a hop's migrator writes is judged by the models before the next hop's migrator reads it:
// an https: that is not a mapping, which the next step reads settings of, is named with the
// hop, before that hop's migrator runs.
func TestRehearseChainModelsJudgeEachHop(t *testing.T) {
	dir, eng, src := rehearsalFixture(t, true)
	eng.run = func(release string, s RunSpec) error {
		if err := realPrepareMigrateRun(t, release)(s); err != nil {
			return err
		}
		out := s.Args[4]
		b, _ := os.ReadFile(out)
		return os.WriteFile(out, append(b, []byte("https: 443\n")...), 0o644)
	}
	u := prepareChainPlan(t, dir, eng, src, true)
	c := u.rehearseChain(context.Background(), u.in)
	if c.OK || !strings.Contains(c.Detail, "hop v2.12.4: harbor.yml as the migrator of v2.10.3 writes it") || len(eng.images) != 1 {
		t.Errorf("check %+v after %v", c, eng.images)
	}
}

// A dry run loads nothing: with the migrators absent it says it did not rehearse. The run
// itself loads exactly the migrators absent (once each), from the bundle, then rehearses.
func TestRehearseChainLoadsOnlyMigrators(t *testing.T) {
	dir, eng, src := rehearsalFixture(t, false)
	eng.run = func(release string, s RunSpec) error { return realPrepareMigrateRun(t, release)(s) }
	u := prepareChainPlan(t, dir, eng, src, true)
	c := u.rehearseChain(context.Background(), u.in)
	if !c.OK || !c.Warn || !strings.Contains(c.Detail, "a dry run loads no images") || len(eng.loaded) != 0 || len(eng.images) != 0 {
		t.Errorf("dry run: %+v, loaded %v, ran %v", c, eng.loaded, eng.images)
	}

	eng.ids["goharbor/prepare:v2.12.4"] = "sha256:goharbor/prepare:v2.12.4"
	eng.ids["goharbor/prepare:v2.14.4"] = "sha256:someone-else's-image"
	u = prepareChainPlan(t, dir, eng, src, false)
	c = u.rehearseChain(context.Background(), u.in)
	want := [][]string{{"goharbor/prepare:v2.10.3", "goharbor/prepare:v2.14.4", "goharbor/prepare:v2.15.2"}}
	if !c.OK || c.Warn || !slices.EqualFunc(eng.loaded, want, slices.Equal) || len(eng.images) != 4 {
		t.Errorf("run: %+v, loaded %v, ran %v", c, eng.loaded, eng.images)
	}
}

// A 1.7 host (harbor.cfg) and a chain bundle from 1.10.0: refused before any change (nothing
// run, nothing loaded), naming the way through 1.8 and why bundle does not take it.
func TestPrepareChainRefuses17(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "harbor")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "harbor.cfg"), []byte("_version = 1.7.0\nhostname = reg.example.com\nhttp_port = 8017\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte("services:\n  core:\n    image: goharbor/harbor-core:v1.7.6\n"), 0o644)
	eng := &rehearsalEngine{planEngine: &planEngine{plugin: "2.40.3", standalone: "1.29.2", containers: []Container{{Name: "harbor-core",
		Image: "goharbor/harbor-core:v1.7.6", State: "running", Labels: map[string]string{LabelWorkingDir: dir, LabelService: "core"}}}},
		ids: map[string]string{}, run: func(string, RunSpec) error { return errors.New("nothing may run") }}
	u, err := Prepare(context.Background(), Options{Bundle: archiveSource{chainBundle(t, "v2.15.2", "v1.10.0")}, Engine: eng,
		HarborDir: dir, BackupDir: filepath.Join(t.TempDir(), "backups")})
	if u != nil {
		defer u.Close()
	}
	var pe *PreflightError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "no chain from v1.7.6") || !strings.Contains(err.Error(), "harbor.cfg") ||
		!strings.Contains(err.Error(), "v1.8") {
		t.Errorf("1.7.6 host: %v", err)
	}
	if len(eng.images) != 0 || len(eng.loaded) != 0 {
		t.Errorf("ran %v, loaded %v", eng.images, eng.loaded)
	}
}

// A 2.2.4 install with notary over http and a chain to 2.8.6 carrying notary: every hop's
// prepare refuses notary without https, so the chain is refused before any change with the
// one-hop check's words and advice, named with each hop.
func TestPrepareChainNotaryNeedsHTTPS(t *testing.T) {
	dir, eng := install2x(t, "v2.2.4", "9.6", map[string]string{
		"core": "goharbor/harbor-core:v2.2.4", "postgresql": "goharbor/harbor-db:v2.2.4",
		"notary-server": "goharbor/notary-server-photon:v2.2.4", "notary-signer": "goharbor/notary-signer-photon:v2.2.4"})
	b := chainBundle(t, "v2.8.6", "v2.2.4")
	for i, h := range b.m.Hops {
		for _, img := range []string{"notary-server-photon", "notary-signer-photon"} {
			ref := "goharbor/" + img + ":" + h.Version
			b.m.Images = append(b.m.Images, payload.Image{Ref: ref, Component: "notary", UncompressedSize: 1 << 20})
			b.m.Hops[i].Images = append(b.m.Hops[i].Images, ref)
		}
		b.m.Hops[i].Components = append(b.m.Hops[i].Components, "notary")
	}
	b.m.Components = append(b.m.Components, "notary")
	u, err := Prepare(context.Background(), Options{Bundle: b, Engine: eng, HarborDir: dir, BackupDir: filepath.Join(t.TempDir(), "backups"), DryRun: true})
	if u == nil {
		t.Fatalf("no plan: %v", err)
	}
	defer u.Close()
	c := findCheck(u.Plan(), "hops")
	for _, want := range []string{"hop v2.4.3: v2.4.3's prepare refuses notary without https", "hop v2.6.4: v2.6.4's prepare refuses notary",
		"hop v2.8.6: v2.8.6's prepare refuses notary", filepath.Join(dir, "harbor.yml") + " has no https section", "--components none"} {
		if c == nil || c.OK || !strings.Contains(c.Detail, want) {
			t.Errorf("hops check lacks %q: %+v", want, c)
		}
	}
}
