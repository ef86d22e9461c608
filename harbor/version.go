package harbor

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a Harbor product version. Build suffixes ("-f3e11715" in /api/systeminfo, "-rc1")
// are dropped: they never change which images or upgrade rules apply.
type Version struct{ Major, Minor, Patch int }

// ParseVersion accepts "v1.10.0", "1.10.0" and "v1.10.0-f3e11715".
func ParseVersion(s string) (Version, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "v")
	if i := strings.IndexAny(t, "-+"); i >= 0 {
		t = t[:i]
	}
	parts := strings.Split(t, ".")
	if len(parts) != 3 {
		return Version{}, fmt.Errorf("parsing version %q: want MAJOR.MINOR.PATCH such as v1.10.0", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > 9999 || (len(p) > 1 && p[0] == '0') {
			return Version{}, fmt.Errorf("parsing version %q: want MAJOR.MINOR.PATCH such as v1.10.0", s)
		}
		n[i] = v
	}
	return Version{n[0], n[1], n[2]}, nil
}

// String formats the version the way Harbor tags its releases: "v1.10.0".
func (v Version) String() string { return fmt.Sprintf("v%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Line is the minor release line, "1.10": upgrade rules and config schemas change per line.
func (v Version) Line() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Compare returns -1, 0 or +1 as v is older than, equal to or newer than w.
func (v Version) Compare(w Version) int {
	for _, d := range [3]int{v.Major - w.Major, v.Minor - w.Minor, v.Patch - w.Patch} {
		if d < 0 {
			return -1
		}
		if d > 0 {
			return 1
		}
	}
	return 0
}

// SameLine reports whether v and w are patches of the same minor line.
func (v Version) SameLine(w Version) bool { return v.Major == w.Major && v.Minor == w.Minor }

// versionPattern is one entry of a release's upgrade_from list: "1.9.x" (any patch of a line)
// or an exact version "1.9.4".
type versionPattern struct {
	v        Version
	anyPatch bool
}

func parsePattern(s string) (versionPattern, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "v")
	if line, ok := strings.CutSuffix(t, ".x"); ok {
		v, err := ParseVersion(line + ".0")
		if err != nil {
			return versionPattern{}, fmt.Errorf("parsing upgrade pattern %q: want 1.9.x or 1.9.4", s)
		}
		return versionPattern{v: v, anyPatch: true}, nil
	}
	if strings.ContainsAny(t, "-+") {
		return versionPattern{}, fmt.Errorf("parsing upgrade pattern %q: want 1.9.x or 1.9.4", s)
	}
	v, err := ParseVersion(t)
	if err != nil {
		return versionPattern{}, fmt.Errorf("parsing upgrade pattern %q: want 1.9.x or 1.9.4", s)
	}
	return versionPattern{v: v}, nil
}

func (p versionPattern) matches(v Version) bool {
	if p.anyPatch {
		return p.v.SameLine(v)
	}
	return p.v == v
}
