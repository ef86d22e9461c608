package builder

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBadInput: each bad input is refused with one clear line and exit status 2, and nothing
// is left in the output directory.
func TestBadInput(t *testing.T) {
	srv := fakeHarbor(t)
	proxy := startProxy(t, "http://"+srv.RegistryAddr)
	cache := t.TempDir()
	missingImage := filepath.Join(t.TempDir(), "catalog.yaml")
	writeCatalogWithMissingImage(t, missingImage)
	shortInstaller := filepath.Join(t.TempDir(), "harbor-online-installer-v1.10.0.tgz")
	writeTgz(t, shortInstaller, map[string]string{"harbor/LICENSE": "x", "harbor/install.sh": "#!/bin/sh\n"})

	cases := []struct {
		name string
		edit func(o *Options)
		want string // in the message
	}{
		{"unknown version", func(o *Options) { o.Version = "v1.10.99" }, "did you mean"},
		{"no version", func(o *Options) { o.Version = "" }, "no version"},
		{"unknown component", func(o *Options) { o.Components = []string{"trivy"} }, `component "trivy"`},
		{"bad compression", func(o *Options) { o.Compression = "lz4" }, "--compression"},
		{"bad level", func(o *Options) { o.Level = "ultra" }, "--level"},
		{"bad jobs", func(o *Options) { o.Jobs = -1 }, "--jobs"},
		{"bad split", func(o *Options) { o.Split = "lots" }, "--split"},
		{"bad platform", func(o *Options) { o.Platform = "linux/amd64/v3/x" }, "--platform"},
		{"output exists", func(o *Options) { os.WriteFile(o.Output, []byte("keep me"), 0o644) }, "--force"},
		{"output dir missing", func(o *Options) { o.Output = filepath.Join(o.Output, "nope", "x.run") }, "does not exist"},
		{"image missing at the registry", func(o *Options) { o.CatalogFiles = []string{missingImage} }, "goharbor/harbor-missing:v1.10.0 is not on registry"},
		{"bad catalog file", func(o *Options) { o.CatalogFiles = []string{shortInstaller} }, "catalog"},
		{"installer file missing", func(o *Options) { o.Installer = filepath.Join(t.TempDir(), "nope.tgz") }, "no such file"},
		{"installer URL 404", func(o *Options) { o.Installer = srv.InstallersURL + "/nope.tgz" }, "404"},
		{"installer lacks files", func(o *Options) { o.Installer = shortInstaller }, "lacks harbor/prepare, harbor/common.sh, harbor/harbor.yml"},
		{"missing stub", func(o *Options) { o.Stub = filepath.Join(t.TempDir(), "nope") }, "--stub"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := testOptions(t, srv, proxy, cache)
			c.edit(&opts)
			dir := filepath.Dir(opts.Output)
			before := listTree(t, dir)
			_, err := Build(context.Background(), opts)
			if err == nil {
				t.Fatal("accepted")
			}
			var ie *InputError
			if !errors.As(err, &ie) || ie.ExitCode() != 2 {
				t.Errorf("error %T %v is not an InputError", err, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("message %q: want one line containing %q", msg, c.want)
			}
			if after := listTree(t, dir); !slices.Equal(before, after) {
				t.Errorf("output directory changed:\nbefore %v\nafter  %v", before, after)
			}
			if c.name == "output exists" {
				if b, _ := os.ReadFile(opts.Output); string(b) != "keep me" {
					t.Errorf("existing output overwritten")
				}
			}
		})
	}
}

// writeCatalogWithMissingImage writes a catalog replacing v1.10.0 by an entry that names an
// image the registry does not have.
func writeCatalogWithMissingImage(t *testing.T, path string) {
	t.Helper()
	const catalog = `releases:
  - version: v1.10.0
    config_version: 1.10.0
    upgrade_from: [1.8.x, 1.9.x]
    install_flags: []
    migration: {method: harbor-migrator}
    images:
      - {repository: goharbor/prepare, component: prepare}
      - {repository: goharbor/harbor-core, component: core}
      - {repository: goharbor/harbor-portal, component: core}
      - {repository: goharbor/harbor-jobservice, component: core}
      - {repository: goharbor/harbor-log, component: core}
      - {repository: goharbor/harbor-db, component: core}
      - {repository: goharbor/harbor-registryctl, component: core}
      - {repository: goharbor/registry-photon, component: core, tag: v2.7.1-patch-2819-2553-v1.10.0}
      - {repository: goharbor/redis-photon, component: core}
      - {repository: goharbor/nginx-photon, component: core}
      - {repository: goharbor/harbor-missing, component: core}
      - {repository: goharbor/harbor-migrator, component: migrator}
`
	if err := os.WriteFile(path, []byte(catalog), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeTgz(t *testing.T, path string, files map[string]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o755, Size: int64(len(files[n]))})
		tw.Write([]byte(files[n]))
	}
	tw.Close()
	zw.Close()
}
