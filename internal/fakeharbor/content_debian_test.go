package fakeharbor

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

// The Debian mix needs apt's lists (apt-get update) and Debian's archive the first time; the
// packages are then cached in DefaultCacheDir()/debian. Without them the test fails.
func loadDebianForTest(t *testing.T) *debianContent {
	t.Helper()
	d, err := loadDebian(context.Background(), DefaultCacheDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Each role gets its real software: the programs the real images run are in its layer.
func TestDebianMixPutsEachRolesSoftwareInItsLayer(t *testing.T) {
	d := loadDebianForTest(t)
	want := map[string][]string{
		"":         {"bin/bash", "usr/lib/x86_64-linux-gnu/libssl.so.3"},
		"db":       {"usr/lib/postgresql/15/bin/postgres", "usr/lib/postgresql/15/bin/psql"},
		"migrator": {"usr/lib/postgresql/15/bin/postgres", "usr/bin/python3.11"},
		"proxy":    {"usr/sbin/nginx"},
		"redis":    {"usr/bin/redis-server"},
		"prepare":  {"usr/bin/python3.11", "usr/lib/python3/dist-packages/jinja2/__init__.py", "usr/lib/python3.11/json/__init__.py"},
		"registry": {"usr/bin/docker-registry"},
		"core":     {"usr/bin/prometheus"},
	}
	for role, paths := range want {
		got := map[string]entry{}
		for _, e := range d.fill("seed", role, 1<<40) {
			got[e.Path] = e
		}
		for _, p := range paths {
			e, ok := got[p]
			if !ok {
				t.Errorf("role %q: no %s among %d files", role, p, len(got))
				continue
			}
			if e.Link == "" && (e.Source == "" || len(e.SourceSum) != 64) {
				t.Errorf("role %q: %s has no source file and sum: %+v", role, p, e)
			}
		}
		for _, p := range []string{"etc/passwd", "etc/os-release", "usr/bin/psql"} {
			if _, ok := got[p]; ok {
				t.Errorf("role %q: the package's %s would shadow the fake's own", role, p)
			}
		}
	}
}

// A budget takes files up to it, the same ones every time; the seed plays no part (the same
// package versions give the same layers).
func TestDebianMixFillsTheBudgetDeterministically(t *testing.T) {
	d := loadDebianForTest(t)
	const budget = 5 << 20
	a, b := d.fill("x", "db", budget), d.fill("y", "db", budget)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two fills of the same role and budget differ")
	}
	var total int64
	for _, e := range a {
		if e.Source != "" {
			total += fileSizeForTest(t, d, e)
		}
	}
	if total > budget || total < budget*9/10 {
		t.Fatalf("files take %d bytes of a %d budget, want at most and near it", total, budget)
	}
	if len(d.Versions()) == 0 || !strings.Contains(strings.Join(d.Versions(), " "), "postgresql-15=15.") {
		t.Fatalf("versions = %v, want postgresql-15=15.x among them", d.Versions())
	}
}

func fileSizeForTest(t *testing.T, d *debianContent, e entry) int64 {
	t.Helper()
	for _, fs := range d.files {
		for _, f := range fs {
			if f.Sum == e.SourceSum && f.Link == "" {
				return f.Size
			}
		}
	}
	t.Fatalf("%s is in no package's index", e.Path)
	return 0
}

// Two builders of the Debian mix make the same images, and unlike the synthetic mix.
func TestDebianMixImagesAreDeterministic(t *testing.T) {
	ctx := context.Background()
	digests := func(content string) map[string]string {
		b, err := NewBuilder(ctx, Options{Size: 8 << 20, Versions: []string{"v1.10.0"}, Content: content})
		if err != nil {
			t.Fatal(err)
		}
		refs, err := b.Release("v1.10.0")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, r := range refs {
			d, err := r.Image.Digest()
			if err != nil {
				t.Fatal(err)
			}
			out[r.Ref] = d.String()
		}
		return out
	}
	one, two, synthetic := digests(ContentDebian), digests(ContentDebian), digests(ContentSynthetic)
	if !reflect.DeepEqual(one, two) {
		t.Fatalf("two Debian builds differ:\n%v\n%v", one, two)
	}
	for ref, d := range one {
		if synthetic[ref] == d {
			t.Fatalf("%s is the same image in both mixes", ref)
		}
	}
	if _, err := NewBuilder(ctx, Options{Content: "nonsense"}); err == nil {
		t.Fatal("an unknown content mix was accepted")
	}
}
