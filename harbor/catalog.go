package harbor

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
)

//go:embed catalog.yaml
var defaultCatalogYAML []byte

// maxCatalogSize bounds a --catalog file; the built-in one is about 60 KiB.
const maxCatalogSize = 1 << 20

// Catalog is the set of Harbor releases bundle knows, keyed by version.
type Catalog struct {
	releases []*Release // sorted by version, oldest first
}

// DefaultCatalog is the catalog built into the binary.
func DefaultCatalog() (*Catalog, error) { return LoadCatalog() }

// LoadCatalog returns the built-in catalog with each file merged over it in order: a release
// whose version is already known replaces the earlier entry whole; a new version is added. The
// merged catalog is validated as a whole.
func LoadCatalog(files ...string) (*Catalog, error) {
	sources := []catalogSource{{name: "built-in catalog", data: defaultCatalogYAML}}
	for _, f := range files {
		data, err := readLimited(f, maxCatalogSize)
		if err != nil {
			return nil, fmt.Errorf("reading catalog: %w", err)
		}
		sources = append(sources, catalogSource{name: f, data: data})
	}
	return parseCatalog(sources)
}

type catalogSource struct {
	name string
	data []byte
}

// parseCatalog decodes, merges and validates catalog sources.
func parseCatalog(sources []catalogSource) (*Catalog, error) {
	byVersion := map[string]*Release{}
	for _, src := range sources {
		releases, err := decodeCatalog(src)
		if err != nil {
			return nil, err
		}
		for _, r := range releases {
			byVersion[r.Version] = r
		}
	}
	c := &Catalog{}
	for _, r := range byVersion {
		c.releases = append(c.releases, r)
	}
	sort.Slice(c.releases, func(i, j int) bool { return c.releases[i].v.Compare(c.releases[j].v) < 0 })
	if len(c.releases) == 0 {
		return nil, &CatalogError{Source: sources[0].name, Problems: []string{"no releases"}}
	}
	for _, r := range c.releases {
		r.catalog = c
	}
	if problems := c.checkDrops(); len(problems) > 0 {
		return nil, &CatalogError{Source: sources[len(sources)-1].name, Problems: problems}
	}
	return c, nil
}

// checkDrops: a release may only drop a component the newest release of the line before it
// has, or the plan would promise a loss that cannot happen.
func (c *Catalog) checkDrops() []string {
	var problems []string
	for _, r := range c.releases {
		prev := c.previousLine(r.v)
		for _, d := range r.Drops {
			if prev == nil || !prev.has(d.Component) {
				problems = append(problems, fmt.Sprintf("release %s drops %s, which the line before it does not have", r.Version, d.Component))
			}
		}
	}
	return problems
}

// previousLine is the newest release of the minor line before v's; nil when there is none.
func (c *Catalog) previousLine(v Version) *Release {
	var prev *Release
	for _, r := range c.releases {
		if r.v.Compare(v) < 0 && !r.v.SameLine(v) {
			prev = r
		}
	}
	return prev
}

// find is the release of exactly v, or nil.
func (c *Catalog) find(v Version) *Release {
	if c == nil {
		return nil
	}
	for _, r := range c.releases {
		if r.v == v {
			return r
		}
	}
	return nil
}

// Dropped lists the optional components an upgrade from installed to target takes away: the
// drops of every line after installed's, up to and including target's, that installed has
// (when the catalog knows installed; else every such drop). Components are named once.
func (c *Catalog) Dropped(installed string, target *Release) ([]Drop, error) {
	from, err := ParseVersion(installed)
	if err != nil {
		return nil, err
	}
	had := c.find(from)
	var out []Drop
	seen := map[string]bool{}
	for _, r := range c.releases {
		if r.v.Compare(from) <= 0 || r.v.SameLine(from) || r.v.Compare(target.v) > 0 {
			continue
		}
		for _, d := range r.Drops {
			if !seen[d.Component] && (had == nil || had.has(d.Component)) {
				seen[d.Component] = true
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// Releases returns every release, oldest first.
func (c *Catalog) Releases() []*Release { return slices.Clone(c.releases) }

// Get returns the release of version ("v1.10.0", "1.10.0", "v1.10.0-f3e11715").
func (c *Catalog) Get(version string) (*Release, error) {
	v, err := ParseVersion(version)
	if err != nil {
		return nil, &UnknownReleaseError{Version: version, Nearest: c.latestPerLine(3)}
	}
	if r := c.find(v); r != nil {
		return r, nil
	}
	return nil, &UnknownReleaseError{Version: version, Nearest: c.nearest(v, 3)}
}

// nearest lists up to n known versions closest to v: those of its own line first (closest patch
// first), else its neighbours in version order.
func (c *Catalog) nearest(v Version, n int) []string {
	var same []*Release
	for _, r := range c.releases {
		if r.v.SameLine(v) {
			same = append(same, r)
		}
	}
	dist := func(r *Release) int { return abs(r.v.Patch - v.Patch) }
	if len(same) > 0 {
		sort.SliceStable(same, func(i, j int) bool { return dist(same[i]) < dist(same[j]) })
		same = same[:min(n, len(same))]
		sort.Slice(same, func(i, j int) bool { return same[i].v.Compare(same[j].v) < 0 })
		return versionsOf(same)
	}
	i := sort.Search(len(c.releases), func(i int) bool { return c.releases[i].v.Compare(v) >= 0 })
	lo, hi := max(0, i-1), min(len(c.releases), i+1)
	return versionsOf(c.releases[lo:hi])
}

func (c *Catalog) latestPerLine(n int) []string {
	var out []*Release
	for i, r := range c.releases {
		if i+1 == len(c.releases) || !c.releases[i+1].v.SameLine(r.v) {
			out = append(out, r)
		}
	}
	return versionsOf(out[max(0, len(out)-n):])
}

func versionsOf(rs []*Release) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Version
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// UnknownReleaseError is a version the catalog does not have.
type UnknownReleaseError struct {
	Version string
	Nearest []string // known versions close to it
}

func (e *UnknownReleaseError) Error() string {
	msg := fmt.Sprintf("unknown Harbor release %q", e.Version)
	if len(e.Nearest) > 0 {
		msg += "; did you mean " + strings.Join(e.Nearest, ", ") + "?"
	}
	return msg + " (`bundle releases` lists them all; --catalog FILE adds more)"
}

// ExitCode makes cmd/bundle exit 2: refused before any change.
func (e *UnknownReleaseError) ExitCode() int { return 2 }

// CatalogError is a catalog file that does not decode or validate.
type CatalogError struct {
	Source   string
	Problems []string
}

func (e *CatalogError) Error() string {
	const show = 4
	p := e.Problems
	more := ""
	if len(p) > show {
		more = fmt.Sprintf(" (and %d more)", len(p)-show)
		p = p[:show]
	}
	return fmt.Sprintf("invalid catalog %s: %s%s", e.Source, strings.Join(p, "; "), more)
}

// ExitCode makes cmd/bundle exit 2: refused before any change.
func (e *CatalogError) ExitCode() int { return 2 }

// readLimited reads a whole file, refusing one larger than limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes, too large for this file's kind", path, limit)
	}
	return data, nil
}
