// Package release is the fake Harbor's own table of what each real Harbor release ships: image
// names and exact tags, the component each belongs to, the compose service and container name,
// the user it runs as and the role the fake binary plays in it.
//
// It is written from ../shared/harbor-facts.md independently of the product's catalog (package
// harbor): the fake is the ground truth our tool is tested against, so it must not share the
// tool's data, or a wrong tag would be wrong in both and no test could notice.
package release

import (
	"fmt"
	"sort"
	"strings"
)

// Components of a Harbor install. Core is always installed; the others come with install.sh's
// --with-<component> flag. Migrator is never installed: it is used only to upgrade.
const (
	Core        = "core"
	Notary      = "notary"
	Clair       = "clair"
	Chartmuseum = "chartmuseum"
	Migrator    = "migrator"
	Prepare     = "prepare"
)

// Image is one image of a release.
type Image struct {
	Repository string // "goharbor/harbor-core"
	Tag        string // "v1.10.0"
	Component  string // Core, Notary, Clair, Chartmuseum, Migrator or Prepare
	Role       string // role of the fake binary in this image: "core", "db", "proxy", "migrator", ...
	Service    string // docker-compose service name ("" for prepare and migrator)
	Container  string // fixed container_name in docker-compose.yml ("" for prepare and migrator)
	User       string // user the image runs as ("" = root)
}

// Ref is the image reference as docker shows it: repository:tag.
func (i Image) Ref() string { return i.Repository + ":" + i.Tag }

// Release is one Harbor version as the fake reproduces it.
type Release struct {
	Version       string // "v1.10.0"
	ConfigVersion string // harbor.yml `_version`: "1.8.0", "1.9.0", "1.10.0"; "" for 1.7 (harbor.cfg)
	SchemaVersion int    // database schema version its core migrates to
	Images        []Image
}

// Versions lists the releases the fake reproduces, oldest first.
func Versions() []string { return []string{"v1.7.6", "v1.8.6", "v1.9.4", "v1.10.0"} }

// Get returns the release for version ("v1.9.4" or "1.9.4").
func Get(version string) (*Release, error) {
	v := "v" + strings.TrimPrefix(version, "v")
	switch v {
	case "v1.7.6":
		return build(v, "", 0, "v2.6.2-"+v, "v0.6.1-"+v, "v2.0.8-"+v, "", "v0.8.1-"+v, false), nil
	case "v1.8.6":
		// 1.8.x never got the -2553 registry patch of 1.9.1+; its last release ships clair v2.1.0.
		return build(v, "1.8.0", 5, "v2.7.1-patch-2819-"+v, "v0.6.1-"+v, "v2.1.0-"+v, "", "v0.9.0-"+v, false), nil
	case "v1.9.4":
		return build(v, "1.9.0", 12, "v2.7.1-patch-2819-2553-"+v, "v0.6.1-"+v, "v2.1.0-"+v, "", "v0.9.0-"+v, true), nil
	case "v1.10.0":
		return build(v, "1.10.0", 15, "v2.7.1-patch-2819-2553-"+v, "v0.6.1-"+v, "v2.1.1-"+v, "v1.0.1-"+v, "v0.9.0-"+v, true), nil
	}
	return nil, fmt.Errorf("fake harbor has no release %q; it has %s", version, strings.Join(Versions(), ", "))
}

// build assembles a release. nonRoot: from 1.9 most containers run as uid 10000.
func build(v, cfg string, schema int, registryTag, notaryTag, clairTag, clairAdapterTag, chartTag string, nonRoot bool) *Release {
	// Before 1.9 every container started as root: prepare had no /data mount, so docker created
	// data/database and data/redis as root and the db and redis entrypoints chowned them to 999
	// before dropping privileges. From 1.9 the images run as their service users.
	harborUser, postgresUser := "", ""
	if nonRoot {
		harborUser, postgresUser = "10000:10000", "999:999"
	}
	r := &Release{Version: v, ConfigVersion: cfg, SchemaVersion: schema}
	add := func(repo, tag, component, role, service, container, user string) {
		r.Images = append(r.Images, Image{repo, tag, component, role, service, container, user})
	}
	add("goharbor/harbor-log", v, Core, "log", "log", "harbor-log", "")
	add("goharbor/registry-photon", registryTag, Core, "registry", "registry", "registry", harborUser)
	add("goharbor/harbor-registryctl", v, Core, "registryctl", "registryctl", "registryctl", harborUser)
	add("goharbor/harbor-db", v, Core, "db", "postgresql", "harbor-db", postgresUser)
	add("goharbor/harbor-core", v, Core, "core", "core", "harbor-core", harborUser)
	add("goharbor/harbor-portal", v, Core, "portal", "portal", "harbor-portal", harborUser)
	add("goharbor/harbor-jobservice", v, Core, "jobservice", "jobservice", "harbor-jobservice", harborUser)
	add("goharbor/redis-photon", v, Core, "redis", "redis", "redis", postgresUser)
	add("goharbor/nginx-photon", v, Core, "proxy", "proxy", "nginx", harborUser)
	if v == "v1.7.6" {
		add("goharbor/harbor-adminserver", v, Core, "adminserver", "adminserver", "harbor-adminserver", "")
	} else {
		// 1.7 prepared its config with a python script on the host; 1.8+ ship a prepare image.
		add("goharbor/prepare", v, Prepare, "prepare", "", "", "")
	}
	add("goharbor/notary-server-photon", notaryTag, Notary, "notary-server", "notary-server", "notary-server", harborUser)
	add("goharbor/notary-signer-photon", notaryTag, Notary, "notary-signer", "notary-signer", "notary-signer", harborUser)
	add("goharbor/clair-photon", clairTag, Clair, "clair", "clair", "clair", harborUser)
	if clairAdapterTag != "" {
		add("goharbor/clair-adapter-photon", clairAdapterTag, Clair, "clair-adapter", "clair-adapter", "clair-adapter", harborUser)
	}
	add("goharbor/chartmuseum-photon", chartTag, Chartmuseum, "chartmuseum", "chartmuseum", "chartmuseum", harborUser)
	add("goharbor/harbor-migrator", v, Migrator, "migrator", "", "", "")
	return r
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
