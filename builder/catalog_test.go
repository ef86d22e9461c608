package builder

import (
	"context"
	"slices"
	"testing"

	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// TestCatalogMatchesFake builds every release the fake serves from the catalog's entry: the
// catalog (package harbor) and the fake's release table are written independently from the
// same facts, so a tag that differs between them shows up here as an image the registry lacks
// or an image missing from the bundle.
func TestCatalogMatchesFake(t *testing.T) {
	versions := []string{"v1.8.6", "v1.9.4"} // v1.10.0 is checked by TestBuildFromFakeHarbor
	srv := fakeharbor.StartT(t, fakeharbor.Options{Versions: versions})
	proxy := startProxy(t, "http://"+srv.RegistryAddr)
	cache := t.TempDir()
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			opts := testOptions(t, srv, proxy, cache)
			opts.Version, opts.Installer, opts.Compression = v, srv.InstallerURL(v, false), "keep"
			res, err := Build(context.Background(), opts)
			if err != nil {
				t.Fatalf("building %s from the catalog: %v", v, err)
			}
			rel, err := release.Get(v)
			if err != nil {
				t.Fatal(err)
			}
			var want, got []string
			for _, img := range rel.Images {
				want = append(want, img.Ref()+" "+img.Component)
			}
			for _, img := range res.Images {
				got = append(got, img.Ref+" "+img.Component)
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("catalog and fake differ for %s:\ncatalog %v\nfake    %v", v, got, want)
			}
		})
	}
}
