package upgrade

import (
	"io"
	"strings"

	"github.com/harborbundle/bundle/payload"
)

// A multi-hop bundle runs as a chain of one-hop upgrades sharing one stop and one backup. Each
// hop is seen by the one-hop steps through hopView and hopSource: a manifest that reads exactly
// like a one-hop bundle of that release (its installer files at installer/, its images, its
// migration), so that layOut, runMigrator, neededImages and every check run unchanged.

// hopView is the manifest of bundle m as a one-hop bundle of hop h.
func hopView(m *payload.Manifest, h payload.Hop) *payload.Manifest {
	v := *m
	v.Release, v.FromVersions = h.Version, h.FromVersions
	v.Components, v.Migration, v.InstallFlags = h.Components, h.Migration, h.InstallFlags
	v.Installer = h.InstallerSource
	v.Hops, v.Chains = nil, nil
	v.Images, v.Entries = nil, nil
	refs := map[string]bool{}
	for _, r := range h.Images {
		refs[r] = true
	}
	for _, img := range m.Images {
		if refs[img.Ref] {
			v.Images = append(v.Images, img)
		}
	}
	for _, e := range m.Entries {
		if rest, ok := strings.CutPrefix(e.Path, h.Installer); ok {
			e.Path = "installer/" + rest
			v.Entries = append(v.Entries, e)
		} else if !strings.HasPrefix(e.Path, "installer/") {
			v.Entries = append(v.Entries, e)
		}
	}
	return &v
}

// hopSource is the bundle as a one-hop bundle of one hop: installer/X opens the hop's
// installer/VERSION/X; everything else is the bundle's.
type hopSource struct {
	Source
	view   *payload.Manifest
	prefix string // "installer/v2.4.3/"
}

func (s hopSource) Manifest() *payload.Manifest { return s.view }

func (s hopSource) OpenEntry(path string) (io.ReadCloser, error) {
	if rest, ok := strings.CutPrefix(path, "installer/"); ok {
		return s.Source.OpenEntry(s.prefix + rest)
	}
	return s.Source.OpenEntry(path)
}
