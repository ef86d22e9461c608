package payload

import (
	"fmt"
	"slices"
	"strings"
)

// A multi-hop bundle carries several Harbor releases and runs them in order, one hop per
// release, from whichever version the host has to the target. Its manifest has:
//
//   - release, from_versions, components, migration, install_flags, installer: the TARGET, as in
//     a one-hop bundle (from_versions: every version some chain starts from).
//   - images: every image stored in images/ (all hops), each once; hops name theirs by ref.
//   - hops: the releases in the order a host meets them (oldest first; the last is the target),
//     each with its own migration, install flags, components, installer files prefix and images.
//   - chains: for each from-version, the hop versions it goes through, in order.
//
// Installer files of hop vX.Y.Z are under installer/vX.Y.Z/ (the target's too): the top of
// installer/ holds only those directories. A reader that does not know hops (schema 1 readers
// before them) refuses such a manifest for its unknown field, so it never runs one hop of it as
// if it were the whole upgrade.

// Hop is one release of a multi-hop bundle.
type Hop struct {
	Version string `yaml:"version" json:"version"` // "v2.4.3"
	// FromVersions are the versions a chain of this bundle enters this hop from: the from-version
	// for a first hop, the hop before for the others.
	FromVersions []string  `yaml:"from_versions" json:"from_versions"`
	Components   []string  `yaml:"components" json:"components"` // "core" then the optional ones this hop installs
	Migration    Migration `yaml:"migration" json:"migration"`
	// MigratesConfig: harbor.yml's _version changes at this hop for some version it is entered
	// from. When false the hop's migration is a no-op and a 1.x hop carries no migrator image.
	MigratesConfig bool     `yaml:"migrates_config" json:"migrates_config"`
	InstallFlags   []string `yaml:"install_flags" json:"install_flags"` // --with-* flags for the hop's components
	// Postgres is the hop's harbor-db step, "9.6 -> 13" or "13" (as harbor.Postgres.String);
	// the upgrader looks every other fact of the release up in its catalog by Version.
	Postgres string `yaml:"postgres,omitempty" json:"postgres,omitempty"`
	// Installer is the entry prefix of this hop's installer files, "installer/v2.4.3/".
	Installer string `yaml:"installer" json:"installer"`
	// InstallerSource is where they came from: URL or file name, the archive's sha256, and what
	// checking its signature found.
	InstallerSource Installer `yaml:"installer_source" json:"installer_source"`
	Images          []string  `yaml:"images" json:"images"` // refs into Manifest.Images
	// EstimateSeconds is a rough wall time of the hop on the host (load, migrate, install, start,
	// a harbor-db pg_upgrade when it has one), for the plan.
	EstimateSeconds int `yaml:"estimate_seconds" json:"estimate_seconds"`
}

// Chain is the way from one installed version to the target.
type Chain struct {
	From string   `yaml:"from" json:"from"` // "v1.10.0"
	Hops []string `yaml:"hops" json:"hops"` // hop versions in order; the last is the release
}

// HopPrefix is where a multi-hop bundle keeps the installer files of version.
func HopPrefix(version string) string { return "installer/" + version + "/" }

// Hop returns the hop of version, if any.
func (m *Manifest) Hop(version string) (Hop, bool) {
	for _, h := range m.Hops {
		if h.Version == version {
			return h, true
		}
	}
	return Hop{}, false
}

// ChainFrom returns the hops, in order, a host on version goes through: the chain that starts
// there, or the rest of a chain it is part-way along (it is a hop's own version). nil when the
// bundle has no way from version.
func (m *Manifest) ChainFrom(version string) []Hop {
	var hops []string
	for _, ch := range m.Chains {
		if ch.From == version {
			hops = ch.Hops
			break
		}
		if i := slices.Index(ch.Hops, version); i >= 0 && i+1 < len(ch.Hops) && hops == nil {
			hops = ch.Hops[i+1:]
		}
	}
	var out []Hop
	for _, v := range hops {
		h, _ := m.Hop(v)
		out = append(out, h)
	}
	return out
}

// validateHops checks a multi-hop manifest: hops unique, the last the release, each image ref
// and installer prefix present, every chain made of known hops in the hops' order and ending
// at the release. Hops and chains come together or not at all.
func (m *Manifest) validateHops() error {
	if len(m.Hops) == 0 && len(m.Chains) == 0 {
		return nil
	}
	if len(m.Hops) == 0 || len(m.Chains) == 0 {
		return fmt.Errorf("hops and chains must both be set or both be absent")
	}
	if last := m.Hops[len(m.Hops)-1].Version; last != m.Release {
		return fmt.Errorf("the last hop is %s, not the release %s", last, m.Release)
	}
	refs := make(map[string]bool, len(m.Images))
	for _, img := range m.Images {
		refs[img.Ref] = true
	}
	order := map[string]int{}
	for i, h := range m.Hops {
		if h.Version == "" {
			return fmt.Errorf("hop %d has no version", i+1)
		}
		if _, dup := order[h.Version]; dup {
			return fmt.Errorf("hop %s is listed twice", h.Version)
		}
		order[h.Version] = i
		switch h.Migration.Method {
		case "", "harbor-migrator", "prepare-migrate":
		default:
			return fmt.Errorf("hop %s: unknown migration method %q", h.Version, h.Migration.Method)
		}
		if h.Installer != HopPrefix(h.Version) {
			return fmt.Errorf("hop %s: installer prefix %q, want %q", h.Version, h.Installer, HopPrefix(h.Version))
		}
		files := 0
		for _, e := range m.Entries {
			if strings.HasPrefix(e.Path, h.Installer) {
				files++
			}
		}
		if files == 0 {
			return fmt.Errorf("hop %s: no installer files under %s", h.Version, h.Installer)
		}
		if len(h.Images) == 0 {
			return fmt.Errorf("hop %s has no images", h.Version)
		}
		for _, ref := range h.Images {
			if !refs[ref] {
				return fmt.Errorf("hop %s: image %s is not in the payload", h.Version, ref)
			}
		}
	}
	for _, e := range m.Entries {
		if rest, ok := strings.CutPrefix(e.Path, "installer/"); ok {
			if _, known := order[rest[:max(0, strings.Index(rest, "/"))]]; !known {
				return fmt.Errorf("entry %s is not under a hop's installer/VERSION/", e.Path)
			}
		}
	}
	froms := map[string]bool{}
	for _, ch := range m.Chains {
		if ch.From == "" || froms[ch.From] {
			return fmt.Errorf("chain from %q is empty or listed twice", ch.From)
		}
		froms[ch.From] = true
		if len(ch.Hops) == 0 || ch.Hops[len(ch.Hops)-1] != m.Release {
			return fmt.Errorf("chain from %s does not end at the release %s", ch.From, m.Release)
		}
		last := -1
		for _, v := range ch.Hops {
			i, ok := order[v]
			if !ok {
				return fmt.Errorf("chain from %s: hop %s is not in hops", ch.From, v)
			}
			if i <= last {
				return fmt.Errorf("chain from %s: hops out of order", ch.From)
			}
			last = i
		}
	}
	return nil
}
