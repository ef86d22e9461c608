package builder

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/payload"
)

// hopOptions builds target from the fake server (registry direct, installers by
// --installer-base: each hop's file name under it, as the catalog names it).
func hopOptions(t *testing.T, srv *fakeharbor.Server, cache, target string, from ...string) Options {
	t.Helper()
	return Options{
		Version: target, From: from,
		Output:   filepath.Join(t.TempDir(), "out.run"),
		Registry: "http://" + srv.RegistryAddr, InstallerBase: srv.InstallersURL,
		CacheDir: cache, Stub: testStub(t), BuilderVersion: "test", Keychain: anonymous, RetryDelay: 10e6,
	}
}

// TestBuildMultiHop: --from 1.9.4 --from 2.2.4 to 2.6.4 is the chains 1.9.4 -> 1.10.19 ->
// 2.4.3 -> 2.6.4 and 2.2.4 -> 2.4.3 -> 2.6.4: three hops in one .run, every hop's images and
// installer, each blob once, the migrator only at the 1.x hop, verified end to end.
func TestBuildMultiHop(t *testing.T) {
	srv, err := fakeharbor.Start(context.Background(), fakeharbor.Options{Versions: []string{"v1.10.19", "v2.4.3", "v2.6.4"}})
	if err != nil {
		t.Fatalf("starting the fake harbor: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	cat, err := harbor.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	res, err := Build(context.Background(), hopOptions(t, srv, t.TempDir(), "v2.6.4", "1.9.4", "v2.2.4"))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	m := openBundle(t, res.File).Manifest() // verifies every byte
	var hops []string
	for _, h := range m.Hops {
		hops = append(hops, h.Version)
	}
	if strings.Join(hops, " ") != "v1.10.19 v2.4.3 v2.6.4" || m.Release != "v2.6.4" {
		t.Fatalf("hops %v release %s", hops, m.Release)
	}
	if got := m.ChainFrom("v1.9.4"); len(got) != 3 {
		t.Errorf("chain from 1.9.4: %v", got)
	}
	if got := m.ChainFrom("v2.2.4"); len(got) != 2 || got[0].Version != "v2.4.3" {
		t.Errorf("chain from 2.2.4: %v", got)
	}
	if !slices.Equal(m.FromVersions, []string{"v1.9.4", "v2.2.4"}) {
		t.Errorf("from_versions %v", m.FromVersions)
	}
	// Each hop carries exactly its release's images (all components), the migrator only at
	// 1.10.19 (entered from 1.9.4: _version 1.9.0 -> 1.10.0).
	stored := map[string]payload.Image{}
	for _, img := range m.Images {
		stored[img.Ref] = img
	}
	seenRef := map[string]bool{}
	for _, h := range m.Hops {
		rel, _ := cat.Get(h.Version)
		want, _ := rel.ImagesFor(nil)
		var wantRefs []string
		for _, img := range want {
			if img.Component != harbor.Migrator || rel.Migration.Method == harbor.MethodMigrator {
				wantRefs = append(wantRefs, img.Ref())
			}
		}
		if !slices.Equal(h.Images, wantRefs) {
			t.Errorf("hop %s images %v, want %v", h.Version, h.Images, wantRefs)
		}
		if !h.MigratesConfig || h.EstimateSeconds <= 0 || h.Installer != "installer/"+h.Version+"/" || len(h.InstallerSource.SHA256) != 64 {
			t.Errorf("hop %+v", h)
		}
		if !strings.HasPrefix(h.InstallerSource.Source, srv.InstallersURL) || !strings.Contains(h.InstallerSource.Source, h.Version) {
			t.Errorf("hop %s installer from %s", h.Version, h.InstallerSource.Source)
		}
		for _, f := range rel.Installer.Files {
			if !slices.ContainsFunc(m.Entries, func(e payload.Entry) bool { return e.Path == h.Installer+f }) {
				t.Errorf("hop %s: no %s%s", h.Version, h.Installer, f)
			}
		}
		for _, ref := range h.Images {
			seenRef[ref] = true
		}
	}
	if len(seenRef) != len(m.Images) {
		t.Errorf("%d images stored, %d named by hops", len(m.Images), len(seenRef))
	}
	if !slices.ContainsFunc(m.Images, func(i payload.Image) bool { return i.Ref == "goharbor/harbor-migrator:v1.10.19" }) {
		t.Error("the 1.10.19 hop lacks its migrator")
	}
	// Blobs: one entry per distinct digest, and fewer than the images' blobs counted per image
	// (the hops share layers).
	distinct, perImage := map[string]bool{}, 0
	for _, img := range m.Images {
		for _, d := range append([]string{img.ManifestDigest, img.ConfigDigest}, layerDigests(img)...) {
			distinct[d] = true
			perImage++
		}
	}
	blobs := 0
	for _, e := range m.Entries {
		if strings.HasPrefix(e.Path, "images/blobs/sha256/") {
			blobs++
		}
		if strings.HasPrefix(e.Path, "installer/") && strings.Count(e.Path, "/") != 2 {
			t.Errorf("installer entry %s is not under installer/VERSION/", e.Path)
		}
	}
	if blobs != len(distinct) || blobs >= perImage {
		t.Errorf("%d blob entries, %d distinct digests, %d counted per image: shared blobs must be stored once", blobs, len(distinct), perImage)
	}
	t.Logf("3 hops: %d images, %d blobs stored (%d referenced per image), %d bytes", len(m.Images), blobs, perImage, res.Size)
	if filepath.Base(res.File) != "out.run" {
		t.Errorf("output %s", res.File)
	}
}

// TestMultiHopPlanOnly: without -o the bundle is harbor-upgrade-OLDEST-to-TARGET.run; a
// --from the target accepts directly gives today's one-hop bundle (no hops in the manifest).
func TestMultiHopPlanOnly(t *testing.T) {
	s, err := resolveOptions(Options{Version: "v2.15.2", From: []string{"1.10"}, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	p, err := makePlan(s)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p.output) != "harbor-upgrade-1.10-to-2.15.run" || len(p.hops) != 7 || len(p.fromVersions) != 20 {
		t.Errorf("output %s, %d hops, %d froms", p.output, len(p.hops), len(p.fromVersions))
	}
	s.From = []string{"2.14.4"}
	if p, err = makePlan(s); err != nil || len(p.hops) != 0 || filepath.Base(p.output) != "harbor-upgrade-2.15.run" {
		t.Errorf("one-hop --from: %v, %d hops, %s", err, len(p.hops), p.output)
	}
	// A DB rides with a one-hop bundle, even one asked for with --from; a chain refuses it.
	s.WithTrivyDB = true
	if _, err := makePlan(s); err != nil {
		t.Errorf("one-hop --from with --with-trivy-db: %v", err)
	}
	s.From, s.TrivyDBRepository = []string{"1.10"}, ""
	if _, err := makePlan(s); err == nil || !strings.Contains(err.Error(), "--trivy-db-only") {
		t.Errorf("a chain with --with-trivy-db: %v, want a refusal pointing to --trivy-db-only", err)
	}
	for _, bad := range []Options{
		{Version: "v2.15.2", From: []string{"1.7.6"}},
		{Version: "v2.15.2", From: []string{"1.10.99"}},
		{Version: "v2.15.2", From: []string{"1.10"}, Installer: "x.tgz"},
		{Version: "v2.15.2", From: []string{"1.10"}, Components: []string{"bogus"}},
		{Version: "v2.15.2", From: []string{"1.10"}, WithTrivyDB: true},
	} {
		bad.CacheDir = t.TempDir()
		s, err := resolveOptions(bad)
		if err == nil {
			_, err = makePlan(s)
		}
		var ie *InputError
		if err == nil || !errors.As(err, &ie) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: %v; want a one-line InputError", bad.From, err)
		}
	}
}

func layerDigests(img payload.Image) []string {
	var out []string
	for _, l := range img.Layers {
		out = append(out, l.Digest)
	}
	return out
}

// TestMultiHopSize measures the 1.10.0 -> 2.15.2 bundle (7 hops) against the sum of the seven
// single-hop bundles of the same releases, built from the same tiny fake with the same
// settings: only the ratio means anything. The multi-hop bundle must be smaller than the sum
// (layers shared between releases are stored once) and at least as large as its largest hop.
func TestMultiHopSize(t *testing.T) {
	hops := []string{"v2.4.3", "v2.6.4", "v2.8.6", "v2.10.3", "v2.12.4", "v2.14.4", "v2.15.2"}
	srv, err := fakeharbor.Start(context.Background(), fakeharbor.Options{Versions: hops})
	if err != nil {
		t.Fatalf("starting the fake harbor: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	cache := t.TempDir()
	multi, err := Build(context.Background(), hopOptions(t, srv, cache, "v2.15.2", "1.10.0"))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if len(multi.Hops) != len(hops) {
		t.Fatalf("%d hops, want %d", len(multi.Hops), len(hops))
	}
	var sum, largest int64
	for _, v := range hops {
		res, err := Build(context.Background(), hopOptions(t, srv, cache, v))
		if err != nil {
			t.Fatalf("build %s: %v", v, err)
		}
		sum += res.Size
		largest = max(largest, res.Size)
	}
	// What a site carries today instead: the offline installer of every release of the chain
	// (made as Harbor makes it: one docker save of the release's images, gzipped).
	var offline int64
	for _, v := range hops {
		f, err := srv.OfflineInstallerFile(v)
		if err != nil {
			t.Fatalf("offline installer %s: %v", v, err)
		}
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		offline += fi.Size()
	}
	t.Logf("1.10.0 -> 2.15.2 (7 hops): %d bytes; sum of the 7 single-hop bundles %d bytes: ratio %.3f; largest single hop %d bytes (%.2fx); sum of the 7 offline installers %d bytes: ratio %.3f",
		multi.Size, sum, float64(multi.Size)/float64(sum), largest, float64(multi.Size)/float64(largest), offline, float64(multi.Size)/float64(offline))
	if multi.Size >= sum || multi.Size < largest || multi.Size >= offline {
		t.Errorf("multi-hop %d bytes, single hops sum %d, largest %d, offline installers sum %d", multi.Size, sum, largest, offline)
	}
}
