package harbor

import (
	"fmt"
	"slices"
	"strings"
)

// Components of a Harbor install. Core, Prepare, Migrator and Exporter are always part of a
// bundle; the optional ones are chosen with install.sh's --with-<component> flags.
const (
	Core        = "core"
	Notary      = "notary"
	Clair       = "clair"
	Chartmuseum = "chartmuseum"
	Trivy       = "trivy"
	Exporter    = "exporter" // started by harbor.yml's metric section, not by a flag: always shipped
	Prepare     = "prepare"
	Migrator    = "migrator"
)

// knownComponents in display order; optionalComponents are the ones a user may leave out.
var (
	knownComponents    = []string{Core, Prepare, Migrator, Exporter, Notary, Clair, Chartmuseum, Trivy}
	optionalComponents = []string{Notary, Clair, Chartmuseum, Trivy}
)

// Image is one image of a release, as `docker images` shows it once loaded.
type Image struct {
	Repository string `yaml:"repository" json:"repository"` // "goharbor/harbor-core"
	Tag        string `yaml:"tag,omitempty" json:"tag"`     // "v1.10.0"; defaults to the release version
	Component  string `yaml:"component" json:"component"`   // Core, Notary, ...
}

// Ref is the image reference "repository:tag".
func (i Image) Ref() string { return i.Repository + ":" + i.Tag }

// Installer says where a release's installer comes from and what it unpacks to.
type Installer struct {
	OnlineURL  string   `yaml:"online_url,omitempty" json:"online_url"`
	OfflineURL string   `yaml:"offline_url,omitempty" json:"offline_url"`
	Files      []string `yaml:"files,omitempty" json:"files"` // entries under harbor/ that bundle ships
}

// OnlineFile is the base name of the online installer, "harbor-online-installer-v1.10.0.tgz".
func (i Installer) OnlineFile() string { return baseName(i.OnlineURL) }

// OfflineFile is the base name of the offline installer.
func (i Installer) OfflineFile() string { return baseName(i.OfflineURL) }

// OnlineSignatureURL is the detached GPG signature of the online installer.
func (i Installer) OnlineSignatureURL() string { return i.OnlineURL + ".asc" }

// OfflineSignatureURL is the detached GPG signature of the offline installer.
func (i Installer) OfflineSignatureURL() string { return i.OfflineURL + ".asc" }

func baseName(u string) string { return u[strings.LastIndex(u, "/")+1:] }

// Migration methods.
const (
	// MethodMigrator is 1.x: `goharbor/harbor-migrator:vX --cfg up`, input mounted at
	// /harbor-migration/harbor-cfg/harbor.yml.
	MethodMigrator = "harbor-migrator"
	// MethodPrepare is 2.x: `goharbor/prepare:vX migrate -i <file>`, host paths under /hostfs.
	MethodPrepare = "prepare-migrate"
)

// Migration is how harbor.yml is brought to a release's schema.
type Migration struct {
	Method string   `yaml:"method" json:"method"`
	Image  string   `yaml:"image,omitempty" json:"image"` // reference; must be one of the release's images
	Args   []string `yaml:"args,omitempty" json:"args"`
}

// Release is one Harbor version: what it ships, how to migrate to it, what it upgrades from.
type Release struct {
	Version       string `yaml:"version" json:"version"`               // "v1.10.0"
	ConfigVersion string `yaml:"config_version" json:"config_version"` // harbor.yml `_version` it expects
	// SchemaVersion is the database schema its core migrates to; 0 when not known.
	SchemaVersion int       `yaml:"schema_version,omitempty" json:"schema_version,omitempty"`
	Images        []Image   `yaml:"images" json:"images"`
	Installer     Installer `yaml:"installer,omitempty" json:"installer"`
	Migration     Migration `yaml:"migration" json:"migration"`
	// InstallFlags are the --with-* flags its install.sh accepts.
	InstallFlags []string `yaml:"install_flags" json:"install_flags"`
	// UpgradeFrom lists what it upgrades from: "1.9.x" or exact "1.9.4". Older patches of its own
	// line are always accepted as well.
	UpgradeFrom []string `yaml:"upgrade_from" json:"upgrade_from"`

	// Date is the release date, "2019-12-12"; "" when not known.
	Date string `yaml:"date,omitempty" json:"date,omitempty"`
	// ShippedConfigVersion is the `_version` of the harbor.yml(.tmpl) its installer ships, when
	// that differs from ConfigVersion (2.1.x ships 2.0.0); "" means the same.
	ShippedConfigVersion string `yaml:"shipped_config_version,omitempty" json:"shipped_config_version,omitempty"`
	// RefusedFlags are --with-* flags its install.sh still parses but refuses with exit 1
	// (--with-clair from 2.2): bundle must never pass them.
	RefusedFlags []string `yaml:"refused_flags,omitempty" json:"refused_flags,omitempty"`
	// DBEntrypointArgs are the goharbor/harbor-db ENTRYPOINT arguments after the script, as the
	// image has them: ["OLD", "NEW"] PostgreSQL majors, or none.
	DBEntrypointArgs []string `yaml:"db_entrypoint_args,omitempty" json:"db_entrypoint_args,omitempty"`
	// Postgres is what its harbor-db does with the data it finds; zero when not known.
	Postgres Postgres `yaml:"postgres,omitempty" json:"postgres"`
	// APIBase is where its core serves the API ("/api" in 1.x, "/api/v2.0" from 2.0): the
	// health check reads APIBase + "/systeminfo". "" (a --catalog entry without it): not
	// known, the health check tries both.
	APIBase string `yaml:"api_base,omitempty" json:"api_base,omitempty"`
	// TrivyKeys are the harbor.yml `trivy:` keys its prepare reads that keep Trivy off the
	// network (skip_update, offline_scan from 2.4, skip_java_db_update from 2.9); none before 2.0.
	// An upgrade that installs a carried vulnerability DB sets them true.
	TrivyKeys []string `yaml:"trivy_keys,omitempty" json:"trivy_keys,omitempty"`
	// Compose is what its install.sh needs to run docker compose.
	Compose Compose `yaml:"compose,omitempty" json:"compose"`
	// Drops lists the optional components its line no longer has, relative to the line before.
	Drops []Drop `yaml:"drops,omitempty" json:"drops,omitempty"`
	// HTTPSRequiredFor are the optional components its prepare refuses to set up unless
	// harbor.yml enables https (notary in 2.0-2.8: see https_required.go).
	HTTPSRequiredFor []string `yaml:"https_required_for,omitempty" json:"https_required_for,omitempty"`
	// ImagesFrom says where the image list comes from: "makefile", "inferred from vX.Y.Z" or
	// "record" (see catalog.yaml).
	ImagesFrom string `yaml:"images_from,omitempty" json:"images_from,omitempty"`

	v        Version
	patterns []versionPattern
	catalog  *Catalog // the catalog it was loaded in: it knows the PostgreSQL of other releases
}

// Postgres is the PostgreSQL step of a release's harbor-db image.
type Postgres struct {
	// Major is the PostgreSQL major of the cluster it runs, as PG_VERSION spells it: "9.6", "13".
	Major string `yaml:"major" json:"major"`
	// UpgradesFrom is the major whose cluster it pg_upgrades to Major and then deletes; "" when
	// it upgrades nothing. Finding neither cluster, harbor-db initialises an empty database.
	UpgradesFrom string `yaml:"upgrades_from,omitempty" json:"upgrades_from,omitempty"`
}

// Known reports whether the catalog says what this harbor-db does.
func (p Postgres) Known() bool { return p.Major != "" }

// Uses reports whether this harbor-db keeps the data of a cluster of major (runs it as is or
// upgrades it); anything else it ignores or refuses.
func (p Postgres) Uses(major string) bool {
	return major != "" && (major == p.Major || major == p.UpgradesFrom)
}

// DataDir is where under data_volume a cluster of major lives: PostgreSQL 9.6 in database/
// itself (harbor-db up to 2.2 had no per-major directories), every later major in database/pgNN.
func DataDir(major string) string {
	if major == "9.6" {
		return "database"
	}
	return "database/pg" + major
}

// String is "9.6 -> 13" for an upgrading step, "13" for one that upgrades nothing.
func (p Postgres) String() string {
	switch {
	case !p.Known():
		return "unknown"
	case p.UpgradesFrom != "":
		return p.UpgradesFrom + " -> " + p.Major
	}
	return p.Major
}

// Compose is what a release's install.sh needs to run docker compose.
type Compose struct {
	// Plugin: install.sh uses `docker compose` (the v2 CLI plugin) when `docker compose version`
	// works, and falls back to the standalone docker-compose.
	Plugin bool `yaml:"plugin" json:"plugin"`
	// StandaloneMin is the lowest standalone docker-compose version it accepts, "1.18.0".
	StandaloneMin string `yaml:"docker_compose_min,omitempty" json:"docker_compose_min,omitempty"`
}

// Drop is an optional component a release no longer offers.
type Drop struct {
	Component string `yaml:"component" json:"component"`
	// Lost is what an install that used it loses, for the upgrade plan.
	Lost string `yaml:"lost" json:"lost"`
}

// Semver is the parsed Version.
func (r *Release) Semver() Version { return r.v }

// Components lists the optional components this release has (those a user can choose with
// --components and that install.sh enables with --with-<component>), in a fixed order.
func (r *Release) Components() []string {
	var out []string
	for _, c := range optionalComponents {
		if r.has(c) {
			out = append(out, c)
		}
	}
	return out
}

func (r *Release) has(component string) bool {
	return slices.ContainsFunc(r.Images, func(i Image) bool { return i.Component == component })
}

// ImagesFor returns the images a bundle with the chosen optional components carries: always
// core, prepare, migrator and exporter images, plus those of each chosen component. components
// is a list of names, or ["all"] (also nil) or ["none"]; entries may be comma-separated. An
// unknown name or one this release lacks is an error naming what it has.
func (r *Release) ImagesFor(components []string) ([]Image, error) {
	want, err := r.chooseComponents(components)
	if err != nil {
		return nil, err
	}
	var out []Image
	for _, img := range r.Images {
		if !slices.Contains(optionalComponents, img.Component) || slices.Contains(want, img.Component) {
			out = append(out, img)
		}
	}
	return out, nil
}

// InstallFlagsFor returns the install.sh flags that enable the chosen optional components.
func (r *Release) InstallFlagsFor(components []string) ([]string, error) {
	want, err := r.chooseComponents(components)
	if err != nil {
		return nil, err
	}
	var flags []string
	for _, c := range want {
		flags = append(flags, "--with-"+c)
	}
	return flags, nil
}

// chooseComponents resolves a --components value into optional component names, in fixed order.
func (r *Release) chooseComponents(components []string) ([]string, error) {
	var names []string
	for _, c := range components {
		for _, n := range strings.Split(c, ",") {
			if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 || (len(names) == 1 && names[0] == "all") {
		return r.Components(), nil
	}
	if len(names) == 1 && names[0] == "none" {
		return nil, nil
	}
	have := r.Components()
	for _, n := range names {
		switch {
		case n == "all" || n == "none":
			return nil, &ComponentError{Release: r.Version, Name: n, Have: have, Reason: "cannot be combined with other components"}
		case n == Core || n == Prepare || n == Migrator || n == Exporter:
			// Always shipped; naming them is harmless.
		case !slices.Contains(optionalComponents, n):
			return nil, &ComponentError{Release: r.Version, Name: n, Have: have, Reason: "is not a Harbor component"}
		case !slices.Contains(have, n):
			return nil, &ComponentError{Release: r.Version, Name: n, Have: have, Reason: "is not part of this release"}
		}
	}
	var out []string
	for _, c := range have {
		if slices.Contains(names, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// ComponentError is a --components value that names something a release does not have.
type ComponentError struct {
	Release string
	Name    string
	Have    []string
	Reason  string
}

func (e *ComponentError) Error() string {
	have := strings.Join(e.Have, ", ")
	if have == "" {
		have = "no optional components"
	}
	return fmt.Sprintf("component %q %s (Harbor %s has %s; or use all, none)", e.Name, e.Reason, e.Release, have)
}

// ExitCode makes cmd/bundle exit 2: the command line was wrong, nothing was changed.
func (e *ComponentError) ExitCode() int { return 2 }

// MigratorImage is the image that migrates harbor.yml to this release.
func (r *Release) MigratorImage() (Image, bool) {
	for _, img := range r.Images {
		if img.Ref() == r.Migration.Image {
			return img, true
		}
	}
	return Image{}, false
}
