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
	Releases  []*Release         `yaml:"releases"`
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
// namespaces still validate) it cannot run without, and the first version that needs each.
var requiredImages = map[string][]struct {
	name  string
	since Version
}{
	Core: {
		{"harbor-core", Version{}}, {"harbor-portal", Version{}}, {"harbor-jobservice", Version{}},
		{"harbor-log", Version{}}, {"harbor-db", Version{}}, {"harbor-registryctl", Version{}},
		{"registry-photon", Version{}}, {"redis-photon", Version{}}, {"nginx-photon", Version{}},
	},
	Prepare:     {{"prepare", Version{}}},
	Notary:      {{"notary-server-photon", Version{}}, {"notary-signer-photon", Version{}}},
	Clair:       {{"clair-photon", Version{}}, {"clair-adapter-photon", Version{1, 10, 0}}},
	Chartmuseum: {{"chartmuseum-photon", Version{}}},
	Trivy:       {{"trivy-adapter-photon", Version{}}},
	Exporter:    {{"harbor-exporter", Version{}}},
	Migrator:    {{"harbor-migrator", Version{}}},
}

var (
	tagRe  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	repoRe = regexp.MustCompile(`^[a-z0-9]+([._/:-][a-z0-9]+)*$`)
	cfgRe  = regexp.MustCompile(`^\d+\.\d+\.\d+$`)
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
	r.Images = slices.Clone(r.Images) // YAML aliases may share one backing array
	problems = append(problems, r.completeImages()...)
	problems = append(problems, r.completeMigration()...)
	problems = append(problems, r.checkFlags()...)
	problems = append(problems, r.completeUpgradeFrom()...)
	r.completeInstaller()
	return problems
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
		for _, req := range requiredImages[c] {
			if r.v.Compare(req.since) >= 0 && !r.hasImageNamed(c, req.name) {
				problems = append(problems, fmt.Sprintf("component %s lacks its %s image", c, req.name))
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
