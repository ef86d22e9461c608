package harbor

import (
	"fmt"
	"strings"
)

// UpgradeGuideURL is Harbor's own upgrade documentation, quoted in refusals.
const UpgradeGuideURL = "https://goharbor.io/docs/main/administration/upgrade/"

// AcceptsFrom reports whether this release upgrades directly from installed: an older patch of
// its own line, or a version its upgrade_from patterns match.
func (r *Release) AcceptsFrom(installed Version) bool {
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
	if c != nil {
		e.Via = c.hops(from, r)
	} else if from.Major == 1 && from.Minor <= 7 {
		e.Via = []string{"v1.8.x"}
	}
	return e
}

// hops finds the shortest chain of minor lines from installed to target (breadth first over the
// newest release of each line) and returns the intermediate lines as "v1.8.x".
func (c *Catalog) hops(installed Version, target *Release) []string {
	type node struct {
		v    Version
		path []string
	}
	// The newest release of each line older than target, newest line first, so that of two
	// equally short paths the one through newer releases wins.
	var lines []*Release
	for i := len(c.releases) - 1; i >= 0; i-- {
		r := c.releases[i]
		last := i+1 == len(c.releases) || !c.releases[i+1].v.SameLine(r.v)
		if last && r.v.Compare(target.v) < 0 && !r.v.SameLine(target.v) {
			lines = append(lines, r)
		}
	}
	seen := map[string]bool{}
	queue := []node{{v: installed}}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if target.AcceptsFrom(n.v) {
			return n.path
		}
		for _, l := range lines {
			if !seen[l.v.Line()] && l.AcceptsFrom(n.v) {
				seen[l.v.Line()] = true
				queue = append(queue, node{v: l.v, path: append(append([]string(nil), n.path...), "v"+l.v.Line()+".x")})
			}
		}
	}
	return nil
}

// PathError is an upgrade the catalog does not allow in one step.
type PathError struct {
	From, To string
	// Via lists the release lines to upgrade through first, in order ("v1.8.x"); empty when no
	// path is known.
	Via    []string
	Reason string
}

func (e *PathError) Error() string {
	if len(e.Via) > 0 {
		return fmt.Sprintf("Harbor %s cannot be upgraded to %s directly: upgrade to %s first (see %s)",
			e.From, e.To, strings.Join(e.Via, ", then "), UpgradeGuideURL)
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
