package harbor

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzParseConfig(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{secretDoc, "a: &a [*a]\n", "a: &a [x]\nb: [*a, *a]\n", "- x\n", "", "a: {b: [c, {d: e}]}\n", "a: !!binary AAAA\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = Redact(b)
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		_ = c.CheckForMigrator("1.10.0")
		_, _ = c.HTTPSPort()
		if _, err := c.Redacted(); err != nil {
			t.Fatalf("Redacted of a parsed config: %v", err)
		}
		out, err := c.Marshal()
		if err != nil {
			return // yaml.v3 cannot write back some exotic inputs it reads
		}
		if _, err := ParseConfig(out); err != nil {
			t.Fatalf("our own output does not parse: %v\n%s", err, out)
		}
		if err := c.Set("$(x)", "fuzz", "value"); err == nil {
			if v, ok := c.Get("fuzz", "value"); !ok || v != "$(x)" {
				t.Fatalf("Set/Get: %q %v", v, ok)
			}
		}
	})
}

func FuzzCatalog(f *testing.F) {
	f.Add([]byte(extraRelease))
	f.Add(defaultCatalogYAML[:4096])
	f.Add([]byte("releases: [{version: v1.0.0}]\n"))
	f.Add([]byte("image_sets: {a: &a [{repository: x, component: core}]}\nreleases: [{version: v1.0.0, images: *a}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseCatalog([]catalogSource{{name: "fuzz", data: b}})
		if err != nil {
			return
		}
		for _, r := range c.Releases() {
			if _, err := r.ImagesFor(nil); err != nil {
				t.Fatalf("%s: ImagesFor(all) on a validated release: %v", r.Version, err)
			}
			_ = r.CanUpgradeFrom("v1.9.4")
			if _, err := c.Get(r.Version); err != nil {
				t.Fatal(err)
			}
		}
	})
}
