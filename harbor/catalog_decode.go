package harbor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// catalogFile is the schema of catalog.yaml and of --catalog files.
type catalogFile struct {
	// ImageSets holds YAML anchors shared by several releases; it is not used directly.
	ImageSets map[string][]Image `yaml:"image_sets,omitempty"`
	// Compose, Drop and Lines hold more anchors: compose requirements, dropped components and
	// the settings every release of a line merges in (`<<: *line_2_4`).
	Compose  map[string]yaml.Node `yaml:"compose,omitempty"`
	Drop     map[string]yaml.Node `yaml:"drop,omitempty"`
	Lines    map[string]yaml.Node `yaml:"lines,omitempty"`
	Releases []*Release           `yaml:"releases"`
}

// decodeCatalog decodes one source strictly and validates each release in it on its own.
func decodeCatalog(src catalogSource) ([]*Release, error) {
	if len(src.data) > maxCatalogSize {
		return nil, &CatalogError{Source: src.name, Problems: []string{fmt.Sprintf("larger than %d bytes", maxCatalogSize)}}
	}
	var f catalogFile
	dec := yaml.NewDecoder(bytes.NewReader(src.data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("empty document")
		}
		return nil, &CatalogError{Source: src.name, Problems: []string{oneLine(err.Error())}}
	}
	var problems []string
	seen := map[string]bool{}
	var out []*Release
	for i, r := range f.Releases {
		if r == nil {
			problems = append(problems, fmt.Sprintf("release #%d is empty", i+1))
			continue
		}
		for _, p := range r.complete() {
			problems = append(problems, fmt.Sprintf("release %s: %s", orIndex(r.Version, i), p))
		}
		if seen[r.Version] {
			problems = append(problems, fmt.Sprintf("release %s is listed twice", r.Version))
		}
		seen[r.Version] = true
		out = append(out, r)
	}
	if len(problems) > 0 {
		return nil, &CatalogError{Source: src.name, Problems: problems}
	}
	return out, nil
}

func orIndex(version string, i int) string {
	if version == "" {
		return fmt.Sprintf("#%d", i+1)
	}
	return version
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// requiredImages maps a component to the images (by last path element, so mirrors under other
// namespaces still validate) it cannot run without; each entry lists the names that can fill it
// (2.15.2 ships valkey-photon where every release before it ships redis-photon).
var requiredImages = map[string][][]string{
	Core: {
		{"harbor-core"}, {"harbor-portal"}, {"harbor-jobservice"}, {"harbor-log"}, {"harbor-db"},
		{"harbor-registryctl"}, {"registry-photon"}, {"redis-photon", "valkey-photon"}, {"nginx-photon"},
	},
	Prepare:     {{"prepare"}},
	Notary:      {{"notary-server-photon"}, {"notary-signer-photon"}},
	Clair:       {{"clair-photon"}},
	Chartmuseum: {{"chartmuseum-photon"}},
	Trivy:       {{"trivy-adapter-photon"}},
	Exporter:    {{"harbor-exporter"}},
	Migrator:    {{"harbor-migrator"}},
}

var (
	tagRe   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	repoRe  = regexp.MustCompile(`^[a-z0-9]+([._/:-][a-z0-9]+)*$`)
	cfgRe   = regexp.MustCompile(`^\d+\.\d+\.\d+$`)
	dateRe  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	majorRe = regexp.MustCompile(`^\d+(\.\d+)?$`)
	apiRe   = regexp.MustCompile(`^/api(/v\d+\.\d+)?$`)
)

// complete normalises a decoded release, fills in defaults and returns what is wrong with it.
func (r *Release) complete() []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	v, err := ParseVersion(r.Version)
	if err != nil || strings.ContainsAny(strings.TrimPrefix(r.Version, "v"), "-+") {
		bad("version %q is not like v1.10.0", r.Version)
		return problems
	}
	r.v, r.Version = v, v.String()
	if !cfgRe.MatchString(r.ConfigVersion) {
		bad("config_version %q is not like 1.10.0", r.ConfigVersion)
	}
	if r.SchemaVersion < 0 {
		bad("schema_version %d is negative", r.SchemaVersion)
	}
	// YAML aliases and merged line settings share backing arrays between releases.
	r.Images = slices.Clone(r.Images)
	r.UpgradeFrom, r.InstallFlags, r.RefusedFlags = slices.Clone(r.UpgradeFrom), slices.Clone(r.InstallFlags), slices.Clone(r.RefusedFlags)
	r.DBEntrypointArgs, r.Drops = slices.Clone(r.DBEntrypointArgs), slices.Clone(r.Drops)
	r.Migration.Args = slices.Clone(r.Migration.Args)
	if r.Date != "" && !dateRe.MatchString(r.Date) {
		bad("date %q is not like 2019-12-12", r.Date)
	}
	if r.ShippedConfigVersion != "" && !cfgRe.MatchString(r.ShippedConfigVersion) {
		bad("shipped_config_version %q is not like 1.10.0", r.ShippedConfigVersion)
	}
	if r.APIBase != "" && !apiRe.MatchString(r.APIBase) {
		bad("api_base %q is not like /api or /api/v2.0", r.APIBase)
	}
	if r.Compose.StandaloneMin != "" && !cfgRe.MatchString(r.Compose.StandaloneMin) {
		bad("compose docker_compose_min %q is not like 1.18.0", r.Compose.StandaloneMin)
	}
	problems = append(problems, r.completeImages()...)
	problems = append(problems, r.completeMigration()...)
	problems = append(problems, r.checkFlags()...)
	problems = append(problems, r.completeUpgradeFrom()...)
	problems = append(problems, r.checkPostgres()...)
	problems = append(problems, r.checkDrops()...)
	problems = append(problems, r.checkHTTPSRequired()...)
	problems = append(problems, r.checkImagesFrom()...)
	r.completeInstaller()
	return problems
}

// checkPostgres: the postgres step must say what db_entrypoint_args say. harbor-db's entrypoint
// takes the old and new majors as its two arguments, spelled without the dot ("96" for 9.6);
// without them it runs its one major and upgrades nothing.
func (r *Release) checkPostgres() []string {
	p := r.Postgres
	if !p.Known() {
		if len(r.DBEntrypointArgs) > 0 || p.UpgradesFrom != "" {
			return []string{"db_entrypoint_args or postgres.upgrades_from without postgres.major"}
		}
		return nil
	}
	var problems []string
	for _, m := range []string{p.Major, p.UpgradesFrom} {
		if m != "" && !majorRe.MatchString(m) {
			problems = append(problems, fmt.Sprintf("postgres major %q is not like 9.6 or 13", m))
		}
	}
	if p.UpgradesFrom == p.Major {
		problems = append(problems, fmt.Sprintf("postgres upgrades_from %q equals its major", p.UpgradesFrom))
	}
	compact := func(m string) string { return strings.ReplaceAll(m, ".", "") }
	switch a := r.DBEntrypointArgs; {
	case len(a) == 2:
		if a[1] != compact(p.Major) || a[0] != compact(p.UpgradesFrom) {
			problems = append(problems, fmt.Sprintf("db_entrypoint_args %q say PostgreSQL %q -> %q, postgres says %s",
				a, a[0], a[1], p))
		}
	case p.UpgradesFrom != "":
		problems = append(problems, fmt.Sprintf("postgres upgrades from %s but db_entrypoint_args %q name no old major", p.UpgradesFrom, a))
	}
	return problems
}

func (r *Release) checkDrops() []string {
	var problems []string
	seen := map[string]bool{}
	for _, d := range r.Drops {
		switch {
		case !slices.Contains(optionalComponents, d.Component):
			problems = append(problems, fmt.Sprintf("drops %q, which is not one of %s", d.Component, strings.Join(optionalComponents, ", ")))
		case r.has(d.Component):
			problems = append(problems, fmt.Sprintf("drops %s but still has %s images", d.Component, d.Component))
		case strings.TrimSpace(d.Lost) == "":
			problems = append(problems, fmt.Sprintf("drops %s without saying what is lost", d.Component))
		case seen[d.Component]:
			problems = append(problems, fmt.Sprintf("drops %s twice", d.Component))
		}
		seen[d.Component] = true
	}
	return problems
}

// ImagesInferredFrom is the release whose Makefile the image list was inferred from
// (images_from: "inferred from v2.4.3"); false for any other source.
func (r *Release) ImagesInferredFrom() (Version, bool) {
	s, ok := strings.CutPrefix(r.ImagesFrom, "inferred from ")
	if !ok {
		return Version{}, false
	}
	v, err := ParseVersion(s)
	return v, err == nil
}

func (r *Release) checkImagesFrom() []string {
	switch r.ImagesFrom {
	case "", "makefile", "record":
		return nil
	}
	v, ok := r.ImagesInferredFrom()
	if !ok {
		return []string{fmt.Sprintf(`images_from %q is not makefile, record or "inferred from vX.Y.Z"`, r.ImagesFrom)}
	}
	if v == r.v {
		return []string{fmt.Sprintf("images_from %q names the release itself; use makefile", r.ImagesFrom)}
	}
	return nil
}

func (r *Release) completeImages() []string {
	var problems []string
	refs := map[string]bool{}
	for i := range r.Images {
		img := &r.Images[i]
		if img.Tag == "" {
			img.Tag = r.Version
		}
		switch {
		case !repoRe.MatchString(img.Repository):
			problems = append(problems, fmt.Sprintf("image repository %q is not a valid name", img.Repository))
		case !tagRe.MatchString(img.Tag):
			problems = append(problems, fmt.Sprintf("image %s has an invalid tag %q", img.Repository, img.Tag))
		case !slices.Contains(knownComponents, img.Component):
			problems = append(problems, fmt.Sprintf("image %s has unknown component %q (want one of %s)",
				img.Ref(), img.Component, strings.Join(knownComponents, ", ")))
		case refs[img.Ref()]:
			problems = append(problems, fmt.Sprintf("image %s is listed twice", img.Ref()))
		}
		refs[img.Ref()] = true
	}
	for _, c := range knownComponents {
		if c != Core && c != Prepare && !r.has(c) {
			continue
		}
		for _, names := range requiredImages[c] {
			if !slices.ContainsFunc(names, func(n string) bool { return r.hasImageNamed(c, n) }) {
				problems = append(problems, fmt.Sprintf("component %s lacks its %s image", c, strings.Join(names, " or ")))
			}
		}
	}
	return problems
}

func (r *Release) hasImageNamed(component, name string) bool {
	return slices.ContainsFunc(r.Images, func(i Image) bool {
		return i.Component == component && i.Repository[strings.LastIndex(i.Repository, "/")+1:] == name
	})
}

func (r *Release) completeMigration() []string {
	m := &r.Migration
	var component string
	switch m.Method {
	case MethodMigrator:
		component = Migrator
		if m.Args == nil {
			m.Args = []string{"--cfg", "up"}
		}
	case MethodPrepare:
		component = Prepare
		if m.Args == nil {
			m.Args = []string{"migrate"}
		}
	default:
		return []string{fmt.Sprintf("migration method %q is not %s or %s", m.Method, MethodMigrator, MethodPrepare)}
	}
	if m.Image == "" {
		for _, img := range r.Images {
			if img.Component == component {
				m.Image = img.Ref()
				break
			}
		}
	}
	img, ok := r.MigratorImage()
	if !ok || img.Component != component {
		return []string{fmt.Sprintf("migration image %q is not one of its %s images", m.Image, component)}
	}
	return nil
}

// checkFlags: every --with-X flag needs X's images, and every optional component present needs
// its flag, or the builder would ship images nothing can start.
func (r *Release) checkFlags() []string {
	var problems []string
	for _, f := range r.InstallFlags {
		c, ok := strings.CutPrefix(f, "--with-")
		switch {
		case !ok || !slices.Contains(optionalComponents, c):
			problems = append(problems, fmt.Sprintf("install flag %q is not --with-<%s>", f, strings.Join(optionalComponents, "|")))
		case !r.has(c):
			problems = append(problems, fmt.Sprintf("install flag %s has no %s images", f, c))
		}
	}
	for _, f := range r.RefusedFlags {
		c, ok := strings.CutPrefix(f, "--with-")
		switch {
		case !ok || !slices.Contains(optionalComponents, c):
			problems = append(problems, fmt.Sprintf("refused flag %q is not --with-<%s>", f, strings.Join(optionalComponents, "|")))
		case slices.Contains(r.InstallFlags, f):
			problems = append(problems, fmt.Sprintf("flag %s is both accepted and refused", f))
		}
	}
	for _, c := range r.Components() {
		if !slices.Contains(r.InstallFlags, "--with-"+c) {
			problems = append(problems, fmt.Sprintf("has %s images but no --with-%s install flag", c, c))
		}
	}
	return problems
}

func (r *Release) completeUpgradeFrom() []string {
	var problems []string
	r.patterns = nil
	for _, s := range r.UpgradeFrom {
		p, err := parsePattern(s)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if p.v.Compare(r.v) >= 0 && !(p.anyPatch && p.v.SameLine(r.v)) {
			problems = append(problems, fmt.Sprintf("upgrade_from %q is not older than %s", s, r.Version))
			continue
		}
		r.patterns = append(r.patterns, p)
	}
	return problems
}

const releaseDownload = "https://github.com/goharbor/harbor/releases/download/"

func (r *Release) completeInstaller() {
	in := &r.Installer
	if in.OnlineURL == "" {
		in.OnlineURL = releaseDownload + r.Version + "/harbor-online-installer-" + r.Version + ".tgz"
	}
	if in.OfflineURL == "" {
		in.OfflineURL = releaseDownload + r.Version + "/harbor-offline-installer-" + r.Version + ".tgz"
	}
	if in.Files == nil {
		in.Files = defaultInstallerFiles(r.v)
	}
}

// defaultInstallerFiles is what harbor/ holds besides the image tarball: common.sh from 1.10,
// harbor.yml.tmpl instead of harbor.yml from 2.0.
func defaultInstallerFiles(v Version) []string {
	files := []string{"LICENSE", "install.sh", "prepare"}
	if v.Compare(Version{1, 10, 0}) >= 0 {
		files = append(files, "common.sh")
	}
	if v.Major >= 2 {
		return append(files, "harbor.yml.tmpl")
	}
	return append(files, "harbor.yml")
}
