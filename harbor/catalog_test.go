package harbor

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	fake "github.com/harborbundle/bundle/internal/fakeharbor/release"
)

func mustCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := DefaultCatalog()
	if err != nil {
		t.Fatalf("built-in catalog: %v", err)
	}
	return c
}

func mustGet(t *testing.T, c *Catalog, v string) *Release {
	t.Helper()
	r, err := c.Get(v)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCatalogCoversEveryLine(t *testing.T) {
	c := mustCatalog(t)
	var want []string
	for p := 0; p <= 6; p++ {
		want = append(want, "v1.8."+strconv.Itoa(p), "v1.10."+strconv.Itoa(p))
	}
	for p := 0; p <= 4; p++ {
		want = append(want, "v1.9."+strconv.Itoa(p))
	}
	for n := 0; n <= 15; n++ {
		want = append(want, "v2."+strconv.Itoa(n)+".0")
	}
	want = append(want, "v1.10.19", "v2.4.3", "v2.13.5", "v2.14.4", "v2.15.1", "v2.15.2")
	for _, v := range want {
		if _, err := c.Get(v); err != nil {
			t.Errorf("catalog lacks %s: %v", v, err)
		}
	}
	rs := c.Releases()
	if !sort.SliceIsSorted(rs, func(i, j int) bool { return rs[i].Semver().Compare(rs[j].Semver()) < 0 }) {
		t.Error("Releases() is not sorted by version")
	}
}

func refsOf(images []Image) []string {
	var out []string
	for _, i := range images {
		out = append(out, i.Component+" "+i.Ref())
	}
	sort.Strings(out)
	return out
}

// v1.10.0 exactly as harbor-facts.md's table lists it.
func TestV1100ImagesAsReal(t *testing.T) {
	r := mustGet(t, mustCatalog(t), "v1.10.0")
	want := []string{
		"chartmuseum goharbor/chartmuseum-photon:v0.9.0-v1.10.0",
		"clair goharbor/clair-adapter-photon:v1.0.1-v1.10.0",
		"clair goharbor/clair-photon:v2.1.1-v1.10.0",
		"core goharbor/harbor-core:v1.10.0",
		"core goharbor/harbor-db:v1.10.0",
		"core goharbor/harbor-jobservice:v1.10.0",
		"core goharbor/harbor-log:v1.10.0",
		"core goharbor/harbor-portal:v1.10.0",
		"core goharbor/harbor-registryctl:v1.10.0",
		"core goharbor/nginx-photon:v1.10.0",
		"core goharbor/redis-photon:v1.10.0",
		"core goharbor/registry-photon:v2.7.1-patch-2819-2553-v1.10.0",
		"migrator goharbor/harbor-migrator:v1.10.0",
		"notary goharbor/notary-server-photon:v0.6.1-v1.10.0",
		"notary goharbor/notary-signer-photon:v0.6.1-v1.10.0",
		"prepare goharbor/prepare:v1.10.0",
	}
	if got := refsOf(r.Images); !slices.Equal(got, want) {
		t.Errorf("v1.10.0 images:\n got %q\nwant %q", got, want)
	}
	if r.ConfigVersion != "1.10.0" || r.SchemaVersion != 15 {
		t.Errorf("v1.10.0 config %s schema %d", r.ConfigVersion, r.SchemaVersion)
	}
	if !slices.Equal(r.InstallFlags, []string{"--with-notary", "--with-clair", "--with-chartmuseum"}) {
		t.Errorf("v1.10.0 flags %v", r.InstallFlags)
	}
	m := r.Migration
	if m.Method != MethodMigrator || m.Image != "goharbor/harbor-migrator:v1.10.0" || !slices.Equal(m.Args, []string{"--cfg", "up"}) {
		t.Errorf("v1.10.0 migration %+v", m)
	}
	in := r.Installer
	if in.OnlineURL != "https://github.com/goharbor/harbor/releases/download/v1.10.0/harbor-online-installer-v1.10.0.tgz" ||
		in.OfflineFile() != "harbor-offline-installer-v1.10.0.tgz" ||
		in.OfflineSignatureURL() != "https://github.com/goharbor/harbor/releases/download/v1.10.0/harbor-offline-installer-v1.10.0.tgz.asc" ||
		!slices.Contains(in.Files, "common.sh") || !slices.Contains(in.Files, "harbor.yml") {
		t.Errorf("v1.10.0 installer %+v", in)
	}
}

// The fake Harbor's table is written independently from harbor-facts.md; where both claim to
// be the real release, they must agree.
func TestAgreesWithFakeHarbor(t *testing.T) {
	c := mustCatalog(t)
	for _, v := range []string{"v1.9.4", "v1.10.0"} {
		fr, err := fake.Get(v)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, img := range fr.Images {
			want = append(want, img.Component+" "+img.Ref())
		}
		sort.Strings(want)
		got := refsOf(mustGet(t, c, v).Images)
		if !slices.Equal(got, want) {
			t.Errorf("%s: catalog %q\n fake harbor %q", v, got, want)
		}
		if r := mustGet(t, c, v); r.ConfigVersion != fr.ConfigVersion || r.SchemaVersion != fr.SchemaVersion {
			t.Errorf("%s: catalog config %s schema %d, fake %s %d", v, r.ConfigVersion, r.SchemaVersion, fr.ConfigVersion, fr.SchemaVersion)
		}
	}
}

func tagOf(t *testing.T, r *Release, repo string) string {
	t.Helper()
	for _, i := range r.Images {
		if i.Repository == "goharbor/"+repo {
			return i.Tag
		}
	}
	return ""
}

func TestTagsPerLine(t *testing.T) {
	c := mustCatalog(t)
	cases := []struct{ version, repo, tag string }{
		{"v1.8.0", "registry-photon", "v2.7.1-patch-2819-v1.8.0"},
		{"v1.8.0", "clair-photon", "v2.0.8-v1.8.0"},
		{"v1.8.0", "chartmuseum-photon", "v0.8.1-v1.8.0"},
		{"v1.8.6", "clair-photon", "v2.1.0-v1.8.6"},
		{"v1.9.0", "registry-photon", "v2.7.1-patch-2819-v1.9.0"},
		{"v1.9.1", "registry-photon", "v2.7.1-patch-2819-2553-v1.9.1"},
		{"v1.9.2", "clair-photon", "v2.0.9-v1.9.2"},
		{"v1.9.3", "clair-photon", "v2.1.0-v1.9.3"},
		{"v1.9.4", "harbor-migrator", "v1.9.4"},
		{"v1.10.1", "clair-adapter-photon", "v1.0.1-v1.10.1"},
		{"v1.10.1", "registry-photon", "v2.7.1-patch-2819-2553-v1.10.1"},
		{"v1.10.2", "registry-photon", "v1.10.2"},
		{"v1.10.2", "clair-adapter-photon", "v1.10.2"},
		{"v1.10.6", "chartmuseum-photon", "v1.10.6"},
		{"v2.0.0", "trivy-adapter-photon", "v2.0.0"},
		{"v2.0.0", "harbor-migrator", ""},
		{"v2.1.0", "clair-photon", "v2.1.0"},
		{"v2.2.0", "harbor-exporter", "v2.2.0"},
		{"v2.2.0", "clair-photon", ""},
		{"v2.7.0", "chartmuseum-photon", "v2.7.0"},
		{"v2.8.0", "chartmuseum-photon", ""},
		{"v2.8.0", "notary-server-photon", "v2.8.0"},
		{"v2.9.0", "notary-server-photon", ""},
		{"v2.15.1", "redis-photon", "v2.15.1"},
		{"v2.15.1", "valkey-photon", ""},
		{"v2.15.2", "valkey-photon", "v2.15.2"},
		{"v2.15.2", "redis-photon", ""},
		{"v2.13.0", "harbor-exporter", "v2.13.0"},
	}
	for _, tc := range cases {
		if got := tagOf(t, mustGet(t, c, tc.version), tc.repo); got != tc.tag {
			t.Errorf("%s %s tag = %q, want %q", tc.version, tc.repo, got, tc.tag)
		}
	}
	r := mustGet(t, c, "v2.0.0")
	if r.Migration.Image != "goharbor/prepare:v2.0.0" || !slices.Equal(r.Migration.Args, []string{"migrate"}) || r.SchemaVersion != 30 {
		t.Errorf("v2.0.0 migration %+v schema %d", r.Migration, r.SchemaVersion)
	}
	if !slices.Contains(r.Installer.Files, "harbor.yml.tmpl") {
		t.Errorf("v2.0.0 installer files %v", r.Installer.Files)
	}
	if got := mustGet(t, c, "v2.9.0").InstallFlags; !slices.Equal(got, []string{"--with-trivy"}) {
		t.Errorf("v2.9.0 flags %v", got)
	}
}

func TestGetAcceptsSpellingsAndSuggests(t *testing.T) {
	c := mustCatalog(t)
	for _, v := range []string{"1.10.0", "v1.10.0-f3e11715"} {
		if r, err := c.Get(v); err != nil || r.Version != "v1.10.0" {
			t.Errorf("Get(%q) = %v, %v", v, r, err)
		}
	}
	cases := map[string]string{
		"v1.10.99": "did you mean v1.10.17, v1.10.18, v1.10.19?",
		"v1.11.0":  "did you mean v1.10.19, v2.0.0?",
		"v1.8.7":   "did you mean v1.8.4, v1.8.5, v1.8.6?",
		"latest":   "did you mean v2.13.5, v2.14.4, v2.15.2?",
		"v2.16.0":  "did you mean v2.15.2?",
	}
	for in, want := range cases {
		_, err := c.Get(in)
		var ue *UnknownReleaseError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Get(%q) error %v, want one line with %q", in, err, want)
		}
		if ue != nil && ue.ExitCode() != 2 {
			t.Errorf("exit code %d", ue.ExitCode())
		}
	}
}

func TestImagesFor(t *testing.T) {
	r := mustGet(t, mustCatalog(t), "v1.10.0")
	all, err := r.ImagesFor(nil)
	if err != nil || len(all) != len(r.Images) {
		t.Fatalf("all: %d images, %v", len(all), err)
	}
	none, err := r.ImagesFor([]string{"none"})
	if err != nil || len(none) != 11 {
		t.Fatalf("none: %q, %v", refsOf(none), err)
	}
	for _, i := range none {
		if i.Component != Core && i.Component != Prepare && i.Component != Migrator {
			t.Errorf("none carries %s", i.Ref())
		}
	}
	some, err := r.ImagesFor([]string{"clair,notary"})
	if err != nil || len(some) != 15 || slices.ContainsFunc(some, func(i Image) bool { return i.Component == Chartmuseum }) {
		t.Fatalf("clair,notary: %q, %v", refsOf(some), err)
	}
	flags, err := r.InstallFlagsFor([]string{"clair", "notary"})
	if err != nil || !slices.Equal(flags, []string{"--with-notary", "--with-clair"}) {
		t.Errorf("flags %v %v", flags, err)
	}
	for _, bad := range [][]string{{"trivy"}, {"bogus"}, {"all", "clair"}} {
		_, err := r.ImagesFor(bad)
		var ce *ComponentError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "notary, clair, chartmuseum") {
			t.Errorf("ImagesFor(%v) = %v", bad, err)
		}
	}
	if got := r.Components(); !slices.Equal(got, []string{Notary, Clair, Chartmuseum}) {
		t.Errorf("components %v", got)
	}
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const extraRelease = `
releases:
  - version: v1.10.99
    config_version: 1.10.0
    upgrade_from: [1.9.x]
    install_flags: []
    migration: {method: harbor-migrator}
    images:
      - {repository: mirror.example/goharbor/prepare, component: prepare}
      - {repository: goharbor/harbor-core, component: core}
      - {repository: goharbor/harbor-portal, component: core}
      - {repository: goharbor/harbor-jobservice, component: core}
      - {repository: goharbor/harbor-log, component: core}
      - {repository: goharbor/harbor-db, component: core}
      - {repository: goharbor/harbor-registryctl, component: core}
      - {repository: goharbor/registry-photon, component: core, tag: custom-1}
      - {repository: goharbor/redis-photon, component: core}
      - {repository: goharbor/nginx-photon, component: core}
      - {repository: goharbor/harbor-migrator, component: migrator}
`

func TestLoadCatalogAddsAndOverrides(t *testing.T) {
	override := strings.ReplaceAll(extraRelease, "v1.10.99", "v1.10.0")
	c, err := LoadCatalog(writeFile(t, "a.yaml", extraRelease), writeFile(t, "b.yaml", override))
	if err != nil {
		t.Fatal(err)
	}
	added := mustGet(t, c, "v1.10.99")
	if tagOf(t, added, "registry-photon") != "custom-1" || tagOf(t, added, "harbor-core") != "v1.10.99" || len(added.Components()) != 0 {
		t.Errorf("added release %+v", added.Images)
	}
	if r := mustGet(t, c, "v1.10.0"); len(r.Images) != 11 || r.Installer.OnlineFile() != "harbor-online-installer-v1.10.0.tgz" {
		t.Errorf("override kept %d images", len(r.Images))
	}
	if len(c.Releases()) != len(mustCatalog(t).Releases())+1 {
		t.Error("override must replace, not add")
	}
}

func TestLoadCatalogRefusesBadFiles(t *testing.T) {
	cases := map[string]struct{ text, want string }{
		"unknown field": {strings.Replace(extraRelease, "config_version", "confg_version", 1), "field confg_version not found"},
		"bad tag":       {strings.Replace(extraRelease, "tag: custom-1", "tag: 'bad tag'", 1), `invalid tag "bad tag"`},
		"missing image": {strings.Replace(extraRelease, "      - {repository: goharbor/harbor-db, component: core}\n", "", 1), "lacks its harbor-db image"},
		"flag without images": {strings.Replace(extraRelease, "install_flags: []", "install_flags: [--with-clair]", 1),
			"install flag --with-clair has no clair images"},
		"images without flag": {strings.Replace(extraRelease, "      - {repository: goharbor/harbor-migrator", "      - {repository: goharbor/trivy-adapter-photon, component: trivy}\n      - {repository: goharbor/harbor-migrator", 1),
			"no --with-trivy install flag"},
		"bad from":       {strings.Replace(extraRelease, "[1.9.x]", "[1.9]", 1), `upgrade pattern "1.9"`},
		"newer from":     {strings.Replace(extraRelease, "[1.9.x]", "[2.0.x]", 1), "not older than"},
		"bad version":    {strings.Replace(extraRelease, "v1.10.99", "v1.10.99-rc1", 1), "is not like v1.10.0"},
		"bad method":     {strings.Replace(extraRelease, "harbor-migrator}", "magic}", 1), `method "magic"`},
		"no migrator":    {strings.Replace(extraRelease, "      - {repository: goharbor/harbor-migrator, component: migrator}\n", "", 1), "migration image"},
		"unknown comp":   {strings.Replace(extraRelease, "component: prepare", "component: preparer", 1), `unknown component "preparer"`},
		"not yaml":       {"releases: [", "invalid catalog"},
		"empty":          {"", "empty document"},
		"twice":          {extraRelease + strings.TrimPrefix(extraRelease, "\nreleases:\n"), "listed twice"},
		"bad cfg":        {strings.Replace(extraRelease, "config_version: 1.10.0", "config_version: v1.10", 1), "config_version"},
		"duplicate refs": {strings.Replace(extraRelease, "goharbor/harbor-portal", "goharbor/harbor-core", 1), "listed twice"},
		"args vs postgres": {strings.Replace(extraRelease, "install_flags: []", "install_flags: []\n    db_entrypoint_args: [\"13\", \"14\"]\n    postgres: {major: \"15\", upgrades_from: \"14\"}", 1),
			`db_entrypoint_args ["13" "14"] say PostgreSQL "13" -> "14", postgres says 14 -> 15`},
		"upgrade without args": {strings.Replace(extraRelease, "install_flags: []", "install_flags: []\n    postgres: {major: \"13\", upgrades_from: \"9.6\"}", 1),
			"name no old major"},
		"args without postgres": {strings.Replace(extraRelease, "install_flags: []", "install_flags: []\n    db_entrypoint_args: [\"13\", \"14\"]", 1),
			"without postgres.major"},
		"bad major": {strings.Replace(extraRelease, "install_flags: []", "install_flags: []\n    postgres: {major: \"thirteen\"}", 1),
			`postgres major "thirteen"`},
		"refused and accepted": {strings.Replace(extraRelease, "install_flags: []", "install_flags: []\n    refused_flags: [--with-bogus]", 1),
			`refused flag "--with-bogus"`},
		"drop kept": {strings.Replace(extraRelease, "install_flags: []", "install_flags: []\n    drops: [{component: core, lost: x}]", 1),
			`drops "core"`},
		"drop silent": {strings.Replace(extraRelease, "install_flags: []", "install_flags: []\n    drops: [{component: notary}]", 1),
			"without saying what is lost"},
		"drop not had": {strings.Replace(strings.ReplaceAll(extraRelease, "v1.10.99", "v2.99.0"), "install_flags: []", "install_flags: []\n    drops: [{component: clair, lost: scans}]", 1),
			"drops clair, which the line before it does not have"},
		"bad date":    {strings.Replace(extraRelease, "install_flags: []", "install_flags: []\n    date: 12/12/2019", 1), `date "12/12/2019"`},
		"bad source":  {strings.Replace(extraRelease, "install_flags: []", "install_flags: []\n    images_from: guess", 1), `images_from "guess"`},
		"bad compose": {strings.Replace(extraRelease, "install_flags: []", "install_flags: []\n    compose: {plugin: true, docker_compose_min: v2}", 1), `docker_compose_min "v2"`},
	}
	for name, tc := range cases {
		_, err := LoadCatalog(writeFile(t, "c.yaml", tc.text))
		var ce *CatalogError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one-line CatalogError with %q", name, err, tc.want)
		}
	}
	if _, err := LoadCatalog(filepath.Join(t.TempDir(), "absent.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v", err)
	}
	big := writeFile(t, "big.yaml", "# "+strings.Repeat("x", maxCatalogSize))
	if _, err := LoadCatalog(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: %v", err)
	}
}
