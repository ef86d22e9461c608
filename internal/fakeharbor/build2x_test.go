package fakeharbor

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/harborbundle/bundle/internal/fakeharbor/release"
	"github.com/harborbundle/bundle/internal/harborreal"
)

// TestImages2x: 2.x images carry harbor-db's PostgreSQL arguments, the release's env, the real
// users, and the prepare image Harbor's real migration templates of the release's line at
// /usr/src/app/migrations/ (its WORKDIR).
func TestImages2x(t *testing.T) {
	root := harborreal.RequireRoot(t)
	b := newTestBuilder(t)
	cases := []struct {
		version, folder, config, schema string
		dbArgs                          []string
		cache                           string // repository of the redis service
	}{
		{"v2.15.2", "v2.15.2", "2.15.0", "180", []string{"15", "18"}, "goharbor/valkey-photon"},
		{"v2.15.1", "v2.15.2", "2.15.0", "180", []string{"14", "15"}, "goharbor/redis-photon"},
		{"v2.7.0", "v2.7.4", "2.7.0", "100", []string{"", "13"}, "goharbor/redis-photon"},
		{"v2.0.6", "v2.0.6", "2.0.0", "31", nil, "goharbor/redis-photon"},
	}
	for _, c := range cases {
		t.Run(c.version, func(t *testing.T) {
			refs, err := b.Release(c.version)
			if err != nil {
				t.Fatal(err)
			}
			byRole := map[string]ImageRef{}
			for _, r := range refs {
				byRole[r.Info.Role] = r
				cf := configOf(t, r.Image)
				for _, want := range []string{"HARBOR_VERSION=" + c.version, "HARBOR_SCHEMA=" + c.schema, "HARBOR_CONFIG_VERSION=" + c.config} {
					if !slices.Contains(cf.Config.Env, want) {
						t.Errorf("%s: env %v lacks %s", r.Ref, cf.Config.Env, want)
					}
				}
				if !strings.HasSuffix(r.Ref, ":"+c.version) {
					t.Errorf("%s: not tagged %s", r.Ref, c.version)
				}
			}
			db := configOf(t, byRole["db"].Image).Config
			if want := append([]string{"/harbor/harbord", "db"}, c.dbArgs...); !slices.Equal(db.Entrypoint, want) {
				t.Errorf("harbor-db entrypoint %q, want %q", db.Entrypoint, want)
			}
			if db.User != "999:999" {
				t.Errorf("harbor-db user %q", db.User)
			}
			cacheRole := "redis"
			if c.cache == "goharbor/valkey-photon" {
				cacheRole = "valkey"
			}
			if img, ok := byRole[cacheRole]; !ok || img.Info.Repository != c.cache || img.Info.Container != "redis" || configOf(t, img.Image).Config.Healthcheck == nil {
				t.Errorf("cache image %+v, want %s as container redis with a healthcheck", img.Info, c.cache)
			}
			if _, ok := byRole["trivy-adapter"]; !ok {
				t.Error("no trivy-adapter image")
			}

			prep := byRole["prepare"]
			pc := configOf(t, prep.Image).Config
			if pc.WorkingDir != "/usr/src/app" || pc.Healthcheck != nil {
				t.Errorf("prepare: WorkingDir %q, healthcheck %v", pc.WorkingDir, pc.Healthcheck)
			}
			layers, err := prep.Image.Layers()
			if err != nil || len(layers) != 4 {
				t.Fatalf("prepare: %d layers (%v), want base, binary, own, migrations", len(layers), err)
			}
			got := layerFiles(t, layers[3])
			want := map[string][]byte{}
			src := filepath.Join(root, "prepare", c.folder, "migrations")
			filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(src, p)
					want["usr/src/app/migrations/"+rel], _ = os.ReadFile(p)
				}
				return err
			})
			if len(want) < 5 || len(got) != len(want) {
				t.Errorf("migrations layer has %d files, harbor-real prepare/%s/migrations %d", len(got), c.folder, len(want))
			}
			for name, data := range want {
				if !bytes.Equal(got[name], data) {
					t.Errorf("%s differs from harbor-real's", name)
				}
			}
		})
	}
	// 1.x: harbor-db takes no arguments, prepare has no migrations layer.
	refs, err := b.Release("v1.10.0")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		if r.Info.Role == "db" && len(configOf(t, r.Image).Config.Entrypoint) != 2 {
			t.Errorf("1.10.0 harbor-db entrypoint %q", configOf(t, r.Image).Config.Entrypoint)
		}
		if n, _ := r.Image.Layers(); r.Info.Role == "prepare" && len(n) != 3 {
			t.Errorf("1.10.0 prepare has %d layers", len(n))
		}
	}
}

// TestImages2xNeedHarborReal: without Harbor's files a 2.x build fails and says where they go.
func TestImages2xNeedHarborReal(t *testing.T) {
	opts := testOptions(t)
	opts.HarborReal = filepath.Join(t.TempDir(), "no-harbor-real")
	b, err := NewBuilder(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Release("v2.13.5"); err == nil || !strings.Contains(err.Error(), "harbor-real") {
		t.Errorf("2.x build without harbor-real: %v", err)
	}
	if err := b.OnlineInstaller("v2.13.5", io.Discard); err == nil || !strings.Contains(err.Error(), "harbor-real") {
		t.Errorf("2.x installer without harbor-real: %v", err)
	}
}

// TestInstallers2xCarryRealFiles: the 2.x .tgz holds Harbor's real files (the line's last patch
// retagged for a patch release without a folder), never harbor.yml; offline adds the images.
func TestInstallers2xCarryRealFiles(t *testing.T) {
	root := harborreal.RequireRoot(t)
	b := newTestBuilder(t)
	for _, c := range []struct{ version, folder string }{{"v2.13.5", "v2.13.5"}, {"v2.13.1", "v2.13.5"}} {
		var buf bytes.Buffer
		if err := b.OnlineInstaller(c.version, &buf); err != nil {
			t.Fatal(err)
		}
		got := gunzipTar(t, buf.Bytes())
		want := []string{"harbor/", "harbor/LICENSE", "harbor/common.sh", "harbor/harbor.yml.tmpl", "harbor/install.sh", "harbor/prepare"}
		if !slices.Equal(keys(got), want) {
			t.Errorf("%s online: %v, want %v", c.version, keys(got), want)
		}
		for _, name := range []string{"install.sh", "common.sh", "harbor.yml.tmpl"} {
			real, _ := os.ReadFile(filepath.Join(root, "installer", c.folder, name))
			if !bytes.Equal(got["harbor/"+name], real) {
				t.Errorf("%s: %s is not Harbor's real one", c.version, name)
			}
		}
		lic, _ := os.ReadFile(filepath.Join(root, "LICENSE"))
		if !bytes.Equal(got["harbor/LICENSE"], lic) {
			t.Errorf("%s: LICENSE is not Harbor's", c.version)
		}
		prep := string(got["harbor/prepare"])
		// The Makefile's sed: the release's tag and the click subcommand.
		if !strings.Contains(prep, "goharbor/prepare:"+c.version+" prepare $@\n") || (c.version != c.folder && strings.Contains(prep, c.folder)) {
			t.Errorf("%s: prepare script does not run goharbor/prepare:%s prepare $@", c.version, c.version)
		}
	}
	name, err := b.OfflineInstallerFile("v2.13.5")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	got := gunzipTar(t, data)
	if _, ok := got["harbor/harbor.v2.13.5.tar.gz"]; !ok || got["harbor/harbor.yml"] != nil {
		t.Errorf("offline 2.13.5: %v", keys(got))
	}
	rel, _ := release.Get("v2.13.5")
	if len(rel.Images) != 12 {
		t.Errorf("2.13.5 has %d images", len(rel.Images))
	}
}

func configOf(t *testing.T, img v1.Image) *v1.ConfigFile {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

// layerFiles reads a layer's regular files.
func layerFiles(t *testing.T, l v1.Layer) map[string][]byte {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			out[h.Name], _ = io.ReadAll(tr)
		}
	}
}

// TestHarborYMLTmplEdits: the harness's harbor.yml edit (hostname, http.port, data_volume, log
// location, https commented out) works on the real harbor.yml.tmpl of every 2.x line.
func TestHarborYMLTmplEdits(t *testing.T) {
	root := harborreal.RequireRoot(t)
	seen := map[string]bool{}
	for _, v := range release.Versions() {
		r, _ := release.Get(v)
		if !r.Is2x() || seen[r.RealFolder] {
			continue
		}
		seen[r.RealFolder] = true
		text, err := os.ReadFile(filepath.Join(root, "installer", r.RealFolder, "harbor.yml.tmpl"))
		if err != nil {
			t.Fatal(err)
		}
		s := ymlSettings{Hostname: "fakeharbor.test", HTTPPort: 18080, DataVolume: "/tmp/x/data", LogDir: "/tmp/x/log"}
		out, err := editHarborYML(string(text), s)
		if err != nil {
			t.Errorf("%s: %v", r.RealFolder, err)
			continue
		}
		// _version is left as shipped (2.1's template says 2.0.0, its prepare migrates to 2.1.0).
		if !strings.Contains(out, "\n    location: /tmp/x/log\n") || !strings.Contains(out, "\n_version: 2.") {
			t.Errorf("%s: log location or _version not as expected", r.RealFolder)
		}
	}
	if len(seen) != 16 {
		t.Errorf("%d 2.x lines, want 16 (2.0 .. 2.15)", len(seen))
	}
}
