package harbor

import (
	"fmt"
	"slices"
	"strings"
)

// A chain is the releases a host goes through, in order, to reach a target that does not
// accept its version directly: each hop accepts the version before it (AcceptsFrom: the
// documented path and the PostgreSQL step rule), the last hop is the target.

// Chain is the way from one installed version to a target.
type Chain struct {
	From string     // the installed version, "v1.10.0"
	Hops []*Release // in order; the last is the target; never empty
}

// Versions are the hops' versions, in order.
func (ch Chain) Versions() []string { return versionsOf(ch.Hops) }

// ChainPlan is the union of the chains from several installed versions to one target: what one
// multi-hop bundle carries.
type ChainPlan struct {
	Target *Release
	Chains []Chain // one per from-version, oldest from first
	// Hops is every release of any chain, oldest first (the order a host meets them in).
	Hops []*Release
}

// FromVersions expands --from values into catalog versions older than target: an exact version
// ("1.10.0", "v2.2.4") or a minor line ("1.10", "v2.2": every patch of it the catalog knows).
// Versions are returned oldest first, each once. An unknown version or an empty line is an
// *UnknownReleaseError.
func (c *Catalog) FromVersions(values []string, target *Release) ([]Version, error) {
	var out []Version
	add := func(v Version) {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	for _, val := range values {
		for _, s := range strings.Split(val, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			if line, ok := parseLine(s); ok {
				n := 0
				for _, r := range c.releases {
					if r.v.Line() == line && r.v.Compare(target.v) < 0 {
						add(r.v)
						n++
					}
				}
				if n == 0 {
					return nil, &UnknownReleaseError{Version: s, Nearest: c.latestPerLine(3)}
				}
				continue
			}
			v, err := ParseVersion(s)
			if err != nil {
				return nil, &UnknownReleaseError{Version: s, Nearest: c.latestPerLine(3)}
			}
			if c.find(v) == nil && !(v.Major == 1 && v.Minor <= 7) {
				return nil, &UnknownReleaseError{Version: s, Nearest: c.nearest(v, 3)}
			}
			add(v)
		}
	}
	slices.SortFunc(out, func(a, b Version) int { return a.Compare(b) })
	return out, nil
}

// parseLine reads "1.10" or "v1.10" (exactly two numbers) as a minor line.
func parseLine(s string) (string, bool) {
	s = strings.TrimPrefix(s, "v")
	parts := strings.Split(s, ".")
	if len(parts) != 2 {
		return "", false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return "", false
		}
	}
	v, err := ParseVersion(s + ".0")
	if err != nil {
		return "", false
	}
	return v.Line(), true
}

// PlanChains finds, for each from-version, the shortest chain to target, and returns their
// union. Among chains of equal length it prefers releases another from-version's chain already
// uses (so the bundle shares their images), then the newest release at each hop (the latest
// fixes of each line). The oldest from-versions are planned first, since their chains are the
// longest and the others mostly join them. A from-version with no chain, the target itself or a
// newer one, or a 1.7 or older host (harbor.cfg: bundle does not migrate it) is a *PathError
// (or *AlreadyInstalledError) naming what is known.
func (c *Catalog) PlanChains(froms []Version, target *Release) (*ChainPlan, error) {
	if len(froms) == 0 {
		return nil, fmt.Errorf("no version to upgrade from")
	}
	sorted := slices.Clone(froms)
	slices.SortFunc(sorted, func(a, b Version) int { return a.Compare(b) })
	p := &ChainPlan{Target: target}
	used := map[Version]bool{}
	for _, from := range sorted {
		ch, err := c.chain(from, target, used)
		if err != nil {
			return nil, err
		}
		for _, r := range ch.Hops {
			used[r.v] = true
		}
		p.Chains = append(p.Chains, ch)
	}
	for _, r := range c.releases {
		if used[r.v] {
			p.Hops = append(p.Hops, r)
		}
	}
	return p, nil
}

// ChainFrom is the shortest chain from one installed version to target (see PlanChains).
func (c *Catalog) ChainFrom(installed string, target *Release) (Chain, error) {
	v, err := ParseVersion(installed)
	if err != nil {
		return Chain{}, &PathError{From: installed, To: target.Version, Reason: "the version is unreadable: " + err.Error()}
	}
	return c.chain(v, target, nil)
}

// chain is breadth first over the releases older than target (not of target's line: an older
// patch of it is never a useful stop), candidates ordered preferred first, so the first chain
// found is the shortest and, among the shortest, the preferred one.
func (c *Catalog) chain(from Version, target *Release, prefer map[Version]bool) (Chain, error) {
	switch cmp := from.Compare(target.v); {
	case cmp == 0:
		return Chain{}, &AlreadyInstalledError{Version: target.Version}
	case cmp > 0:
		return Chain{}, &PathError{From: from.String(), To: target.Version,
			Reason: "Harbor does not support downgrades; restore the backup taken before the upgrade instead"}
	}
	var candidates []*Release
	for i := len(c.releases) - 1; i >= 0; i-- {
		if r := c.releases[i]; r.v.Compare(target.v) < 0 && !r.v.SameLine(target.v) && r.v.Compare(from) > 0 {
			candidates = append(candidates, r)
		}
	}
	// Stable, so each group stays newest first: releases another chain already uses first; then
	// those of from's own major, so that a 1.x host finishes 1.x (1.10 and its migrator) before
	// 2.x as Harbor's upgrade guide has it, rather than entering 2.0 straight from 1.9.
	rank := func(r *Release) int {
		n := 0
		if !prefer[r.v] {
			n += 2
		}
		if r.v.Major != from.Major {
			n++
		}
		return n
	}
	slices.SortStableFunc(candidates, func(a, b *Release) int { return rank(a) - rank(b) })
	type node struct {
		v    Version
		hops []*Release
	}
	var found []*Release
	seen := map[Version]bool{}
	queue := []node{{v: from}}
	for len(queue) > 0 && found == nil {
		n := queue[0]
		queue = queue[1:]
		if target.AcceptsFrom(n.v) {
			found = append(slices.Clone(n.hops), target)
			break
		}
		for _, r := range candidates {
			if !seen[r.v] && r.AcceptsFrom(n.v) {
				seen[r.v] = true
				queue = append(queue, node{v: r.v, hops: append(slices.Clone(n.hops), r)})
			}
		}
	}
	if found == nil {
		return Chain{}, c.CanUpgrade(from.String(), target)
	}
	if from.Major == 1 && from.Minor <= 7 {
		// Found through a 1.8 hop, but bundle migrates harbor.yml only: 1.7's harbor.cfg goes
		// through Harbor's own 1.8 migrator by hand first. Name the whole way.
		var via []string
		for _, r := range found[:len(found)-1] {
			via = append(via, c.stepName(r))
		}
		return Chain{}, &PathError{From: from.String(), To: target.Version, Via: via,
			ViaWhy: "a 1.7 or older install keeps its configuration in harbor.cfg, which bundle does not migrate: the 1.8 step is Harbor's own migrator, run by hand"}
	}
	return Chain{From: from.String(), Hops: found}, nil
}

// ChainFor returns the chain of plan that starts at from, or false.
func (p *ChainPlan) ChainFor(from string) (Chain, bool) {
	for _, ch := range p.Chains {
		if ch.From == from {
			return ch, true
		}
	}
	return Chain{}, false
}

// EntersFrom lists, for hop r, the versions some chain of the plan arrives at it from (the
// from-version itself for a first hop, else the hop before), oldest first.
func (p *ChainPlan) EntersFrom(r *Release) []string {
	var out []Version
	for _, ch := range p.Chains {
		for i, h := range ch.Hops {
			if h != r {
				continue
			}
			prev, _ := ParseVersion(ch.From)
			if i > 0 {
				prev = ch.Hops[i-1].v
			}
			if !slices.Contains(out, prev) {
				out = append(out, prev)
			}
		}
	}
	slices.SortFunc(out, func(a, b Version) int { return a.Compare(b) })
	s := make([]string, len(out))
	for i, v := range out {
		s[i] = v.String()
	}
	return s
}

// MigratesConfig reports whether hop r changes harbor.yml's `_version` for some version it is
// entered from (so its migration must run and, for a 1.x hop, the migrator image is needed).
func (p *ChainPlan) MigratesConfig(c *Catalog, r *Release) bool {
	for _, s := range p.EntersFrom(r) {
		v, _ := ParseVersion(s)
		prev := c.find(v)
		if prev == nil || prev.ConfigVersion != r.ConfigVersion {
			return true
		}
	}
	return false
}

// Hop estimates, in seconds, of the host's work: rough figures for the plan and the manifest,
// not promises. Each hop stops Harbor, loads its images, migrates harbor.yml, runs install.sh
// and waits for every container to be healthy (core migrates the database schema at start);
// a harbor-db that pg_upgrades a cluster adds a copy of the database.
const (
	hopBaseSeconds     = 90
	hopMigrateSeconds  = 15
	hopPGUpgradeSecond = 300
	// loadBytesPerSecond is docker load's pace on a modest disk.
	loadBytesPerSecond = 50 << 20
)

// EstimateSeconds is a rough wall time of one hop whose images are imageBytes uncompressed.
func (p *ChainPlan) EstimateSeconds(c *Catalog, r *Release, imageBytes int64) int {
	s := hopBaseSeconds + int(imageBytes/loadBytesPerSecond)
	if p.MigratesConfig(c, r) {
		s += hopMigrateSeconds
	}
	if r.Postgres.UpgradesFrom != "" {
		for _, e := range p.EntersFrom(r) {
			v, _ := ParseVersion(e)
			if prev := c.find(v); prev == nil || prev.Postgres.Major == r.Postgres.UpgradesFrom {
				s += hopPGUpgradeSecond
				break
			}
		}
	}
	return s
}
