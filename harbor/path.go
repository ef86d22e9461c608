package harbor

import (
	"fmt"
	"strings"
)

// UpgradeGuideURL is Harbor's own upgrade documentation, quoted in refusals.
const UpgradeGuideURL = "https://goharbor.io/docs/main/administration/upgrade/"

// AcceptsFrom reports whether this release upgrades directly from installed: an older patch of
// its own line, or a version its upgrade_from patterns match; and, when the catalog knows both
// harbor-db steps, one whose harbor-db keeps installed's PostgreSQL data (see postgresBlocks).
func (r *Release) AcceptsFrom(installed Version) bool {
	return r.pathAllows(installed) && r.postgresBlocks(installed) == ""
}

// pathAllows is the documented path alone: same line, or an upgrade_from pattern.
func (r *Release) pathAllows(installed Version) bool {
	if installed.Compare(r.v) >= 0 {
		return false
	}
	if installed.SameLine(r.v) {
		return true
	}
	for _, p := range r.patterns {
		if p.matches(installed) {
			return true
		}
	}
	return false
}

// postgresBlocks explains why this release's harbor-db would not keep the data installed's
// harbor-db left (it would refuse it, or initialise an empty database beside it); "" when it
// would, or when the catalog does not know either step.
func (r *Release) postgresBlocks(installed Version) string {
	from := r.catalog.find(installed)
	if from == nil || !from.Postgres.Known() || !r.Postgres.Known() || r.Postgres.Uses(from.Postgres.Major) {
		return ""
	}
	return fmt.Sprintf("its harbor-db runs PostgreSQL %s and upgrades %s, but %s keeps its data in PostgreSQL %s (%s): "+
		"it would start on an empty database", r.Postgres.Major, orNothing(r.Postgres.UpgradesFrom), from.Version,
		from.Postgres.Major, DataDir(from.Postgres.Major))
}

func orNothing(major string) string {
	if major == "" {
		return "nothing"
	}
	return "only " + major
}

// CanUpgradeFrom says whether the installed version ("v1.9.4", "v1.9.4-abcdef12") may be
// upgraded to this release in one step: nil, *AlreadyInstalledError for the same version, or
// *PathError explaining why not. Catalog.CanUpgrade also names the releases to go through.
func (r *Release) CanUpgradeFrom(installed string) error { return r.canUpgradeFrom(installed, nil) }

// CanUpgrade is CanUpgradeFrom with the catalog at hand, so a refusal can name the releases to
// go through ("upgrade to v1.8.x first").
func (c *Catalog) CanUpgrade(installed string, target *Release) error {
	return target.canUpgradeFrom(installed, c)
}

func (r *Release) canUpgradeFrom(installed string, c *Catalog) error {
	from, err := ParseVersion(installed)
	if err != nil {
		return &PathError{From: installed, To: r.Version, Reason: "the installed version is unreadable: " + err.Error()}
	}
	switch cmp := from.Compare(r.v); {
	case cmp == 0:
		return &AlreadyInstalledError{Version: r.Version}
	case cmp > 0:
		return &PathError{From: from.String(), To: r.Version,
			Reason: "Harbor does not support downgrades; restore the backup taken before the upgrade instead"}
	}
	if r.AcceptsFrom(from) {
		return nil
	}
	e := &PathError{From: from.String(), To: r.Version, Reason: "no supported upgrade path is known"}
	if why := r.postgresBlocks(from); why != "" && r.pathAllows(from) {
		e.Reason = why
	}
	if c != nil {
		e.Via = c.hops(from, r)
	} else if from.Major == 1 && from.Minor <= 7 {
		e.Via = []string{"v1.8.x"}
	}
	return e
}

// hops finds the shortest chain of releases from installed to target (breadth first, newest
// releases first, so that of two equally short paths the one through newer releases wins) and
// names each step by its line, "v1.8.x", when it is the newest release of that line, else by
// the exact version: after 1.10.17 harbor-db moved to PostgreSQL 13, which 2.0-2.2 cannot read,
// so the way from 1.8 to 2.1 is "v1.10.17", not any 1.10 patch.
func (c *Catalog) hops(installed Version, target *Release) []string {
	type node struct {
		v    Version
		path []string
	}
	var candidates []*Release // newest first
	for i := len(c.releases) - 1; i >= 0; i-- {
		if r := c.releases[i]; r.v.Compare(target.v) < 0 && !r.v.SameLine(target.v) {
			candidates = append(candidates, r)
		}
	}
	seen := map[Version]bool{}
	queue := []node{{v: installed}}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if target.AcceptsFrom(n.v) {
			return n.path
		}
		for _, r := range candidates {
			if !seen[r.v] && r.AcceptsFrom(n.v) {
				seen[r.v] = true
				queue = append(queue, node{v: r.v, path: append(append([]string(nil), n.path...), c.stepName(r))})
			}
		}
	}
	return nil
}

// stepName is "v1.8.x" for the newest release of its line (any patch of it will do, the newest
// is advised), else the exact version.
func (c *Catalog) stepName(r *Release) string {
	for _, o := range c.releases {
		if o.v.SameLine(r.v) && o.v.Compare(r.v) > 0 {
			return r.Version
		}
	}
	return "v" + r.v.Line() + ".x"
}

// PathError is an upgrade the catalog does not allow in one step.
type PathError struct {
	From, To string
	// Via lists the release lines to upgrade through first, in order ("v1.8.x"); empty when no
	// path is known.
	Via []string
	// ViaWhy says why the way is Via when that is not only the documented path (1.7's
	// harbor.cfg, which bundle does not migrate).
	ViaWhy string
	Reason string
}

func (e *PathError) Error() string {
	if len(e.Via) > 0 {
		why := ""
		if e.ViaWhy != "" {
			why = e.ViaWhy + "; "
		}
		return fmt.Sprintf("Harbor %s cannot be upgraded to %s directly: upgrade to %s first (%ssee %s)",
			e.From, e.To, strings.Join(e.Via, ", then "), why, UpgradeGuideURL)
	}
	return fmt.Sprintf("Harbor %s cannot be upgraded to %s: %s (see %s)", e.From, e.To, e.Reason, UpgradeGuideURL)
}

// ExitCode makes cmd/bundle exit 2: refused before any change.
func (e *PathError) ExitCode() int { return 2 }

// AlreadyInstalledError says the target version is the one installed: nothing to do.
type AlreadyInstalledError struct{ Version string }

func (e *AlreadyInstalledError) Error() string {
	return fmt.Sprintf("Harbor %s is already installed; nothing to upgrade", e.Version)
}

// ExitCode is 0: being on the target version already is success, not failure.
func (e *AlreadyInstalledError) ExitCode() int { return 0 }
