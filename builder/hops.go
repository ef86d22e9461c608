package builder

import (
	"context"
	"slices"
	"strings"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/payload"
)

// A multi-hop build (Options.From names versions the target does not accept directly) carries
// every release of the chains from those versions to the target in one payload: each hop's
// images go through the same pipeline (a blob shared by several hops is fetched and stored
// once), each hop's installer files go under installer/VERSION/, and the manifest says the
// hops and chains (see payload/hops.go).

// hopPlan is one release of a multi-hop build.
type hopPlan struct {
	release    *harbor.Release
	images     []harbor.Image
	components []string // "core" then the optional ones
	flags      []string // install.sh --with-* flags
	entersFrom []string
	migrates   bool // harbor.yml's _version changes at this hop
	inst       *installer
}

// planHops fills p.hops from the chains of s.From to p.release; a plan whose chains are all one
// hop stays a one-hop build (today's bundle, from_versions as the catalog says).
func planHops(s *settings, cat *harbor.Catalog, p *plan) error {
	froms, err := cat.FromVersions(s.From, p.release)
	if err != nil {
		return asInput(err)
	}
	cp, err := cat.PlanChains(froms, p.release)
	if err != nil {
		return asInput(err)
	}
	if len(cp.Hops) == 1 {
		return nil
	}
	if s.WithTrivyDB {
		// The host installs a carried DB as part of one release's install (backup, harbor.yml
		// keys, swap, health); a chain would need that tied to its last hop and its one backup,
		// which the chain runner does not do yet. A DB-only bundle run after the chain does it.
		return inputErrorf("--with-trivy-db cannot go with a bundle of %d releases yet: build the chain without it and carry the DB in a DB-only bundle (bundle build --trivy-db-only), run on the host after the upgrade", len(cp.Hops))
	}
	if s.Installer != "" || s.InstallerSHA256 != "" {
		return inputErrorf("--installer and --installer-sha256 name one archive, but this bundle carries %d releases: "+
			"use --installer-base URL (each release's installer file name under it) or the default URLs", len(cp.Hops))
	}
	names, err := componentNames(s.Components, cp.Hops)
	if err != nil {
		return err
	}
	p.chains, p.catalog = cp, cat
	p.images, p.components = nil, []string{harbor.Core}
	seen := map[string]bool{}
	for _, r := range cp.Hops {
		h := &hopPlan{release: r, entersFrom: cp.EntersFrom(r), migrates: cp.MigratesConfig(cat, r)}
		var want []string // nil: all the hop has
		if names != nil {
			for _, c := range r.Components() {
				if slices.Contains(names, c) {
					want = append(want, c)
				}
			}
			if len(want) == 0 {
				want = []string{"none"}
			}
		}
		imgs, err := r.ImagesFor(want)
		if err != nil {
			return asInput(err)
		}
		if h.flags, err = r.InstallFlagsFor(want); err != nil {
			return asInput(err)
		}
		h.components = []string{harbor.Core}
		for _, c := range r.Components() {
			if containsComponent(imgs, c) {
				h.components = append(h.components, c)
			}
		}
		for _, img := range imgs {
			// The migrator image only where it migrates: a 1.x hop whose _version changes.
			if img.Component == harbor.Migrator && (r.Migration.Method != harbor.MethodMigrator || !h.migrates) {
				continue
			}
			h.images = append(h.images, img)
			if !seen[img.Ref()] {
				seen[img.Ref()] = true
				p.images = append(p.images, img)
			}
		}
		p.hops = append(p.hops, h)
	}
	last := p.hops[len(p.hops)-1]
	p.components = last.components
	p.fromVersions = nil
	for _, ch := range cp.Chains {
		p.fromVersions = append(p.fromVersions, ch.From)
	}
	return nil
}

// componentNames resolves --components for a chain: nil for all (each hop carries every
// optional component it has), an empty list for none, else the names, each of which some hop
// must have (a host may use a component the target dropped: the hops before carry it).
func componentNames(components []string, hops []*harbor.Release) ([]string, error) {
	var names []string
	for _, c := range components {
		for _, n := range strings.Split(c, ",") {
			if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 || (len(names) == 1 && names[0] == "all") {
		return nil, nil
	}
	if len(names) == 1 && names[0] == "none" {
		return []string{}, nil
	}
	var have []string
	for _, r := range hops {
		for _, c := range r.Components() {
			if !slices.Contains(have, c) {
				have = append(have, c)
			}
		}
	}
	for _, n := range names {
		switch n {
		case harbor.Core, harbor.Prepare, harbor.Migrator, harbor.Exporter:
			continue
		}
		if !slices.Contains(have, n) {
			return nil, &InputError{&harbor.ComponentError{Release: "of this chain", Name: n, Have: have, Reason: "is in none of the releases"}}
		}
	}
	return names, nil
}

// fetchHopInstallers reads every hop's installer through the cache's temp dir, one after the
// other (a few MB each).
func fetchHopInstallers(ctx context.Context, s *settings, cache *Cache, p *plan) error {
	for _, h := range p.hops {
		src, err := installerSource(s, h.release)
		if err != nil {
			return err
		}
		if h.inst, err = fetchInstaller(ctx, s, cache, h.release, src); err != nil {
			return err
		}
	}
	return nil
}

// hopsManifest is the hops and chains part of a multi-hop manifest; sizes are the images'
// sizes as pulled, for the estimates.
func hopsManifest(p *plan, sizes map[string]int64) ([]payload.Hop, []payload.Chain) {
	var hops []payload.Hop
	for _, h := range p.hops {
		r := h.release
		ph := payload.Hop{
			Version: r.Version, FromVersions: h.entersFrom, Components: h.components,
			Migration:      payload.Migration{Method: r.Migration.Method, Image: r.Migration.Image, Args: r.Migration.Args},
			MigratesConfig: h.migrates, InstallFlags: h.flags, Installer: payload.HopPrefix(r.Version),
			InstallerSource: payload.Installer{Source: h.inst.Source, SHA256: h.inst.SHA256, Signature: h.inst.Signature},
		}
		if r.Postgres.Known() {
			ph.Postgres = r.Postgres.String()
		}
		var bytes int64
		for _, img := range h.images {
			ph.Images = append(ph.Images, img.Ref())
			bytes += sizes[img.Ref()]
		}
		ph.EstimateSeconds = p.chains.EstimateSeconds(p.catalog, r, bytes)
		hops = append(hops, ph)
	}
	var chains []payload.Chain
	for _, ch := range p.chains.Chains {
		chains = append(chains, payload.Chain{From: ch.From, Hops: ch.Versions()})
	}
	return hops, chains
}

// pulledSize is an image's config and layers as the registry serves them.
func pulledSize(ri *remoteImage) int64 {
	n := ri.manifest.Config.Size
	for _, l := range ri.manifest.Layers {
		n += l.Size
	}
	return n
}
