// Package release is the fake Harbor's own table of what each real Harbor release ships: image
// names and exact tags, the component each belongs to, the compose service and container name,
// the user it runs as and the role the fake binary plays in it; and per release the harbor.yml
// `_version` it writes, its database schema, harbor-db's entrypoint arguments, install.sh's flags.
//
// It is written from ../shared/harbor-real (releases.tsv, each tag's Makefile and
// docker-compose template) independently of the product's catalog (package harbor): the fake is
// the ground truth our tool is tested against, so it must not share the tool's data, or a wrong
// tag would be wrong in both and no test could notice. TestTableMatchesHarborReal holds it to
// those files.
package release

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Components of a Harbor install. Core is always installed; Notary, Clair, Chartmuseum and Trivy
// come with install.sh's --with-<component> flag; Exporter runs when harbor.yml enables
// `metric` (2.2+). Migrator is never installed: it is used only to upgrade (1.x). Prepare is the
// one-shot config generator.
const (
	Core        = "core"
	Notary      = "notary"
	Clair       = "clair"
	Chartmuseum = "chartmuseum"
	Trivy       = "trivy"
	Exporter    = "exporter"
	Migrator    = "migrator"
	Prepare     = "prepare"
)

// Image is one image of a release.
type Image struct {
	Repository string // "goharbor/harbor-core"
	Tag        string // "v1.10.0"
	Component  string // Core, Notary, Clair, Chartmuseum, Trivy, Exporter, Migrator or Prepare
	Role       string // role of the fake binary in this image: "core", "db", "proxy", "migrator", ...
	Service    string // docker-compose service name ("" for prepare and migrator)
	Container  string // fixed container_name in docker-compose.yml ("" for prepare and migrator)
	User       string // user the image runs as ("" = root)
}

// Ref is the image reference as docker shows it: repository:tag.
func (i Image) Ref() string { return i.Repository + ":" + i.Tag }

// Release is one Harbor version as the fake reproduces it.
type Release struct {
	Version string // "v1.10.0"
	// ConfigVersion is the harbor.yml `_version` the release writes: "1.8.0", "1.9.0", "1.10.0",
	// for 2.x the `-t` default of its prepare's commands/migrate.py ("2.13.0" for every 2.13.x);
	// "" for 1.7 (harbor.cfg).
	ConfigVersion string
	SchemaVersion int // database schema version its core migrates to (releases.tsv db_schema_max)
	// DBArgs are harbor-db's ENTRYPOINT arguments after /docker-entrypoint.sh, the old and the new
	// PostgreSQL major as the real entrypoint reads $1 $2 (`"96","13"`, `"","13"`, ...; an empty
	// string stays one); nil when the image takes none (1.x, 2.0-2.2).
	DBArgs []string
	// InstallFlags are the --with-<component> flags install.sh accepts (without "--with-": "clair",
	// "notary", "chartmuseum", "trivy"). Accepted is not supported: from 2.2 install.sh accepts
	// --with-clair only to fail with "Clair is deprecated".
	InstallFlags []string
	// ComposePlugin: install.sh prefers `docker compose` (the plugin) when it works (2.5.4+, 2.6+).
	ComposePlugin bool
	// APIBase is the path of core's REST API: "/api" (1.x) or "/api/v2.0" (2.x).
	APIBase string
	// RealFolder is the ../shared/harbor-real folder (installer/<RealFolder>, prepare/<RealFolder>)
	// holding this release's line: its own tag when present, else the line's last patch (2.x) or
	// the line's one folder (1.8.6, 1.9.4, 1.10.0); "" for 1.7.6.
	RealFolder string
	Images     []Image
}

// Is2x reports whether the release is Harbor 2.x (prepare migrate, harbor.yml.tmpl, /api/v2.0).
func (r *Release) Is2x() bool { return strings.HasPrefix(r.Version, "v2.") }

// Line is the release's minor line: "2.13", "1.10".
func (r *Release) Line() string { return line(r.Version) }

// HasInstallFlag reports whether install.sh accepts --with-<component>.
func (r *Release) HasInstallFlag(component string) bool {
	for _, f := range r.InstallFlags {
		if f == component {
			return true
		}
	}
	return false
}

// row is one release as written in table.go.
type row struct {
	version       string
	schema        int
	dbArgs        []string
	flags         string
	composePlugin bool
}

var (
	byVersion = map[string]*Release{}
	versions  []string
)

func init() {
	lastPatch := map[string]string{} // line -> last patch in the table
	for _, rw := range releaseRows {
		if semverLess(lastPatch[line(rw.version)], rw.version) {
			lastPatch[line(rw.version)] = rw.version
		}
	}
	for _, rw := range releaseRows {
		r := &Release{
			Version:       rw.version,
			SchemaVersion: rw.schema,
			DBArgs:        rw.dbArgs,
			InstallFlags:  strings.Split(rw.flags, ","),
			ComposePlugin: rw.composePlugin,
			APIBase:       "/api",
			ConfigVersion: line(rw.version) + ".0",
		}
		switch l := line(rw.version); l {
		case "1.8":
			r.RealFolder = "v1.8.6"
		case "1.9":
			r.RealFolder = "v1.9.4"
		case "1.10":
			r.RealFolder = "v1.10.0"
		default:
			r.RealFolder = lastPatch[l]
			r.APIBase = "/api/v2.0"
		}
		r.Images = imagesOf(r)
		byVersion[r.Version] = r
		versions = append(versions, r.Version)
	}
	// 1.7.6 is kept to be refused: it ships harbor.cfg and a bash prepare (see README).
	byVersion["v1.7.6"] = &Release{Version: "v1.7.6", APIBase: "/api",
		InstallFlags: []string{Chartmuseum, Clair, Notary},
		Images:       legacyImages("v1.7.6", "v2.6.2-v1.7.6", "v0.6.1-v1.7.6", "v2.0.8-v1.7.6", "", "v0.8.1-v1.7.6", false)}
	versions = append(versions, "v1.7.6")
	sort.Slice(versions, func(i, j int) bool { return semverLess(versions[i], versions[j]) })
}

// Versions lists every release the fake reproduces (1.7.6, then 1.8.0 .. 2.15.2), oldest first.
func Versions() []string { return append([]string(nil), versions...) }

// Defaults are the releases a server serves when asked for none: the four the 1.x tests were
// written against (building every release would cost minutes for nothing).
func Defaults() []string { return []string{"v1.7.6", "v1.8.6", "v1.9.4", "v1.10.0"} }

// Get returns the release for version ("v1.9.4" or "1.9.4").
func Get(version string) (*Release, error) {
	v := "v" + strings.TrimPrefix(version, "v")
	if r, ok := byVersion[v]; ok {
		return r, nil
	}
	return nil, fmt.Errorf("fake harbor has no release %q; it has %s .. %s", version, versions[0], versions[len(versions)-1])
}

// ImagesFor returns the images an install with the given optional components runs (the
// services of docker-compose.yml), sorted by reference. Prepare and migrator are not included.
func (r *Release) ImagesFor(components ...string) []Image {
	want := map[string]bool{Core: true}
	for _, c := range components {
		want[c] = true
	}
	var out []Image
	for _, img := range r.Images {
		if want[img.Component] && img.Service != "" {
			out = append(out, img)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref() < out[j].Ref() })
	return out
}

// Image returns the image of the release with the given role ("prepare", "migrator", "core", ...).
func (r *Release) Image(role string) (Image, bool) {
	for _, img := range r.Images {
		if img.Role == role {
			return img, true
		}
	}
	return Image{}, false
}

// line is "2.13" for "v2.13.5".
func line(v string) string {
	p := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(p) < 2 {
		return v
	}
	return p[0] + "." + p[1]
}

// semverLess orders "vX.Y.Z" numerically; "" sorts first.
func semverLess(a, b string) bool {
	pa, pb := nums(a), nums(b)
	for i := 0; i < 3; i++ {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return false
}

func nums(v string) [3]int {
	var out [3]int
	if v == "" {
		return [3]int{-1, -1, -1}
	}
	for i, p := range strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3) {
		out[i], _ = strconv.Atoi(p)
	}
	return out
}

// patch is Z of vX.Y.Z.
func patch(v string) int { return nums(v)[2] }
