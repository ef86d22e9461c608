package release

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// harborReal is Harbor's own files, next to the repository (see ../shared/harbor-real/README.md).
func harborReal(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../../../shared/harbor-real")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "releases.tsv")); err != nil {
		t.Fatalf("Harbor's real files are needed at %s (releases.tsv): %v", dir, err)
	}
	return dir
}

// TestTableMatchesHarborReal holds the table to releases.tsv, row by row: the same releases,
// schema, harbor-db arguments, install.sh flags and compose plugin detection.
func TestTableMatchesHarborReal(t *testing.T) {
	f, err := os.Open(filepath.Join(harborReal(t), "releases.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var tsvVersions []string
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		var cols []string
		for _, c := range strings.Split(sc.Text(), "\t") {
			if c != "" { // some rows pad with extra tabs
				cols = append(cols, c)
			}
		}
		if len(cols) != 6 {
			t.Fatalf("releases.tsv row %q: %d columns", sc.Text(), len(cols))
		}
		v := cols[0]
		tsvVersions = append(tsvVersions, v)
		r, err := Get(v)
		if err != nil {
			t.Errorf("%s: %v", v, err)
			continue
		}
		if schema, _ := strconv.Atoi(cols[2]); r.SchemaVersion != schema {
			t.Errorf("%s: schema %d, releases.tsv %d", v, r.SchemaVersion, schema)
		}
		var args []string
		if err := json.Unmarshal([]byte(cols[3]), &args); err != nil {
			t.Fatalf("%s: db_entrypoint_args %q: %v", v, cols[3], err)
		}
		if len(args) == 0 || args[0] == "/entrypoint.sh" { // 1.8: its own entrypoint, no arguments
			args = nil
		}
		if !slices.Equal(r.DBArgs, args) || (args == nil) != (r.DBArgs == nil) {
			t.Errorf("%s: DBArgs %q, releases.tsv %q", v, r.DBArgs, args)
		}
		var flags []string
		for _, fl := range strings.Split(cols[4], ",") {
			flags = append(flags, strings.TrimPrefix(fl, "--with-"))
		}
		if !slices.Equal(r.InstallFlags, flags) {
			t.Errorf("%s: InstallFlags %q, releases.tsv %q", v, r.InstallFlags, cols[4])
		}
		if r.ComposePlugin != (cols[5] == "yes") {
			t.Errorf("%s: ComposePlugin %v, releases.tsv %q", v, r.ComposePlugin, cols[5])
		}
	}
	if want := append(tsvVersions, "v1.7.6"); !sameSet(Versions(), want) {
		t.Errorf("Versions() = %v\nreleases.tsv + v1.7.6 = %v", Versions(), want)
	}
}

// TestDBArgsMatchDockerfiles: where harbor-real has the harbor-db Dockerfile of a release, its
// ENTRYPOINT after /docker-entrypoint.sh is DBArgs.
func TestDBArgsMatchDockerfiles(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(harborReal(t), "db", "v*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no db/ folders in harbor-real: %v", err)
	}
	re := regexp.MustCompile(`(?m)^ENTRYPOINT (\[.*\])`)
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "Dockerfile"))
		if err != nil {
			t.Fatal(err)
		}
		m := re.FindSubmatch(b)
		var ep []string
		if m == nil || json.Unmarshal(m[1], &ep) != nil || len(ep) == 0 || ep[0] != "/docker-entrypoint.sh" {
			t.Fatalf("%s: ENTRYPOINT not understood", d)
		}
		r := mustGet(t, filepath.Base(d))
		want := ep[1:]
		if len(want) == 0 {
			want = nil
		}
		if !slices.Equal(r.DBArgs, want) {
			t.Errorf("%s: DBArgs %q, Dockerfile %q", r.Version, r.DBArgs, want)
		}
	}
}

// TestConfigVersionMatchesPrepareMigrate: a 2.x release writes the `_version` its prepare's
// `migrate -t` defaults to.
func TestConfigVersionMatchesPrepareMigrate(t *testing.T) {
	real := harborReal(t)
	re := regexp.MustCompile(`'--target', default='([0-9.]+)'`)
	for _, v := range Versions() {
		r := mustGet(t, v)
		if !r.Is2x() {
			if want := map[string]string{"1.7": "", "1.8": "1.8.0", "1.9": "1.9.0", "1.10": "1.10.0"}[r.Line()]; r.ConfigVersion != want {
				t.Errorf("%s: ConfigVersion %q, want %q", v, r.ConfigVersion, want)
			}
			continue
		}
		b, err := os.ReadFile(filepath.Join(real, "prepare", r.RealFolder, "commands", "migrate.py"))
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		m := re.FindSubmatch(b)
		if m == nil || string(m[1]) != r.ConfigVersion {
			t.Errorf("%s: ConfigVersion %q, prepare/%s migrate -t default %q", v, r.ConfigVersion, r.RealFolder, m)
		}
	}
}

// TestImagesMatchMakefiles: every release's images are its Makefile's DOCKERSAVE_PARA plus the
// `+=` lines of every flag, VERSIONTAG set to the release (a patch release without a folder:
// its line's folder retagged, as the Makefile tags it); compose services and containers are
// the ones of the release line's docker-compose template.
func TestImagesMatchMakefiles(t *testing.T) {
	real := harborReal(t)
	for _, v := range Versions() {
		r := mustGet(t, v)
		if v == "v1.7.6" {
			continue
		}
		var got []string
		for _, img := range r.Images {
			got = append(got, img.Ref())
		}
		want := makefileImages(t, filepath.Join(real, "installer", r.RealFolder, "Makefile"), v)
		own := r.RealFolder == v
		switch {
		case !own && !r.Is2x():
			// 1.x patches: the line's folder gives the repositories; the tags of the component
			// versions are harbor-facts.md's (checked in TestTagsAsReal), each ending in -vX or vX.
			want = repos(want)
			for _, ref := range got {
				if !strings.HasSuffix(ref, "-"+v) && !strings.HasSuffix(ref, ":"+v) {
					t.Errorf("%s: image %s not tagged for the release", v, ref)
				}
			}
			got = repos(got)
		case !own && (v == "v2.15.0" || v == "v2.15.1"):
			// harbor-facts.md: the 2.15.2 patch release replaced redis-photon with valkey-photon.
			for i, ref := range want {
				want[i] = strings.Replace(ref, "goharbor/valkey-photon:", "goharbor/redis-photon:", 1)
			}
		}
		if !sameSet(got, want) {
			t.Errorf("%s: images\n got %v\nwant %v (installer/%s/Makefile)", v, got, want, r.RealFolder)
		}
		if r.Is2x() {
			checkCompose(t, r, filepath.Join(real, "prepare", r.RealFolder, "templates", "docker_compose", "docker-compose.yml.jinja"))
		}
	}
}

// checkCompose: each image with a service is `image: <repo>:{{...}}` under that service with
// that container_name in the template, and every service of the template is in the table.
func checkCompose(t *testing.T, r *Release, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type svc struct{ container, repo string }
	services := map[string]*svc{}
	var cur *svc
	inServices := false
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, "services:"):
			inServices = true
		case len(l) > 0 && l[0] != ' ' && l[0] != '{':
			inServices = false
		case inServices && regexp.MustCompile(`^  [a-z-]+:\s*$`).MatchString(l):
			cur = &svc{}
			services[strings.TrimSuffix(strings.TrimSpace(l), ":")] = cur
		case cur != nil && strings.HasPrefix(strings.TrimSpace(l), "container_name:"):
			cur.container = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "container_name:"))
		case cur != nil && strings.HasPrefix(strings.TrimSpace(l), "image:"):
			ref := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "image:"))
			cur.repo = ref[:strings.LastIndex(ref, ":")]
		}
	}
	seen := map[string]bool{}
	for _, img := range r.Images {
		if img.Service == "" {
			continue
		}
		seen[img.Service] = true
		s, ok := services[img.Service]
		wantRepo := img.Repository
		if r.Version == "v2.15.0" || r.Version == "v2.15.1" {
			wantRepo = strings.Replace(wantRepo, "redis-photon", "valkey-photon", 1) // the 2.15.2 template
		}
		if !ok || s.container != img.Container || s.repo != wantRepo {
			t.Errorf("%s: service %s (container %s, %s) not in %s as such: %+v", r.Version, img.Service, img.Container, img.Repository, path, s)
		}
	}
	for name := range services {
		if !seen[name] {
			t.Errorf("%s: service %s of %s missing from the table", r.Version, name, path)
		}
	}
}

// makefileImages expands DOCKERSAVE_PARA and all its `+=` lines with VERSIONTAG=version.
func makefileImages(t *testing.T, path, version string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	var para []string
	lines := strings.Split(string(b), "\n")
	assign := regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$`)
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		full := l
		for strings.HasSuffix(strings.TrimSpace(full), "\\") && i+1 < len(lines) {
			i++
			full = strings.TrimSuffix(strings.TrimSpace(full), "\\") + " " + lines[i]
		}
		trim := strings.TrimSpace(full)
		switch {
		case strings.HasPrefix(trim, "DOCKERSAVE_PARA+="):
			para = append(para, strings.Fields(strings.TrimPrefix(trim, "DOCKERSAVE_PARA+="))...)
		case strings.HasPrefix(l, "DOCKERSAVE_PARA="):
			para = append(para, strings.Fields(strings.TrimPrefix(trim, "DOCKERSAVE_PARA="))...)
		default:
			if m := assign.FindStringSubmatch(l); m != nil {
				if _, dup := vars[m[1]]; !dup {
					vars[m[1]] = strings.TrimSpace(m[2])
				}
			}
		}
	}
	vars["VERSIONTAG"] = version
	ref := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	var expand func(s string, depth int) string
	expand = func(s string, depth int) string {
		if depth > 10 {
			t.Fatalf("%s: variable loop in %q", path, s)
		}
		return ref.ReplaceAllStringFunc(s, func(m string) string {
			name := ref.FindStringSubmatch(m)[1]
			val, ok := vars[name]
			if !ok {
				t.Fatalf("%s: undefined $(%s)", path, name)
			}
			return expand(val, depth+1)
		})
	}
	var out []string
	for _, p := range para {
		out = append(out, expand(p, 0))
	}
	if len(out) == 0 {
		t.Fatalf("%s: no DOCKERSAVE_PARA", path)
	}
	return out
}

func repos(refs []string) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r[:strings.LastIndex(r, ":")])
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
