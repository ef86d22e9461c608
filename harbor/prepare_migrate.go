package harbor

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// What Harbor 2.x's `prepare migrate` (the goharbor/prepare image of the target release, run by
// install.sh's caller as `prepare migrate -i harbor.yml`) does with a harbor.yml, as data:
// prepare_migrate.yaml. Every 2.x release carries its own copy of every older migration step
// (migrations/version_X_Y_Z/harbor.yml.jinja, rendered with StrictUndefined) and the copies
// differ, so the data holds, per release line, the chain of steps and, per step, a program: the
// template's control flow and the values it reads, with every piece of output text left out.
// TestPrepareStepsMatchRealTemplates regenerates the programs from Harbor's real files and
// requires them to equal the embedded data; `go test ./harbor -run PrepareSteps -update-prepare`
// rewrites them after Harbor changes. The `losses` of a line are written by hand: what one step
// of that release's chain drops and a later step reads (found by running the real code; the
// differential test TestCheckForPrepareMigrateMatchesRealPrepare holds them to it).
//
// Patch releases of a line use the data of the line's last patch (the prepare copy kept in
// ../shared/harbor-real): patches do not add migration steps, and the chains were compared only
// for those.

//go:embed prepare_migrate.yaml
var prepareMigrateYAML []byte

// pmNode is one piece of a step's template: a value read (and written, unless As is "test"),
// an if/else, or a loop.
type pmNode struct {
	Read string `yaml:"read,omitempty"` // dotted path; its first part may be a loop variable
	// As: how the value is written. "" is `{{ x }}`: as text, unquoted (Python's str()); "lower"
	// is `{{ x | lower }}`.
	As   string   `yaml:"as,omitempty"`
	If   *pmCond  `yaml:"if,omitempty"`
	Then []pmNode `yaml:"then,omitempty"`
	Else []pmNode `yaml:"else,omitempty"`
	// Each: `{% for Vars in Each %}`; with Items, `for k, v in Each.items()`.
	Each  string   `yaml:"each,omitempty"`
	Items bool     `yaml:"items,omitempty"`
	Vars  []string `yaml:"vars,omitempty"`
	Do    []pmNode `yaml:"do,omitempty"`
}

// pmCond is a jinja condition. Exactly one field is set.
type pmCond struct {
	Defined string   `yaml:"defined,omitempty"` // `x is defined`: never fails
	None    string   `yaml:"none,omitempty"`    // `x is none`: never fails (an undefined x is not none)
	Truthy  string   `yaml:"truthy,omitempty"`  // `{% if x %}`, `x or ...`: fails when x is undefined
	Eq      []string `yaml:"eq,omitempty"`      // [path, literal]: `x == 'lit'`; fails when x is undefined
	Not     *pmCond  `yaml:"not,omitempty"`
	All     []pmCond `yaml:"all,omitempty"` // and, short-circuit
	Any     []pmCond `yaml:"any,omitempty"` // or, short-circuit
}

// pmStep is one migration step of a release's chain.
type pmStep struct {
	From, To string // the _version it accepts (down_revisions) and the one it writes (revision)
	Program  string // key into prepareData.Programs
	// Mappings: keys the step's Python (__init__.py, before rendering) calls .get on when truthy.
	Mappings []string `yaml:"mappings,omitempty"`
	// Numbers: values (under a Mappings key) that Python compares with numbers when truthy.
	Numbers []string `yaml:"numbers,omitempty"`
}

// pmLoss is a value one step of a release's chain drops and a later step then reads: a file whose
// _version is below Below and that holds Key fails that release's `prepare migrate`.
type pmLoss struct {
	Below string // the first step that does not drop it: a file at this _version or newer is fine
	Key   string // dotted path in the administrator's file
	Why   string // what the steps do, for the message
	Fix   string // what the administrator does instead
}

// pmLine is one 2.x release line.
type pmLine struct {
	Prepare string   // the release whose prepare program the data was taken from ("v2.15.2")
	Target  string   // `-t` default: the _version it migrates to
	Steps   []pmStep // in chain order, 1.9.0 first
	// StrongSSLCiphers: read_conf (utils/migration.py) sets strong_ssl_ciphers from
	// https.strong_ssl_ciphers or internal_tls.strong_ssl_ciphers, calling .get on both.
	StrongSSLCiphers bool     `yaml:"strong_ssl_ciphers,omitempty"`
	Losses           []pmLoss `yaml:"losses,omitempty"`
}

type prepareData struct {
	Lines    map[string]*pmLine  // "2.15" -> line
	Programs map[string][]pmNode // "2.0.0@v2.1.6" -> program (shared by releases whose copies read alike)
}

var prepareDataOnce = sync.OnceValues(func() (*prepareData, error) {
	var d prepareData
	if err := yaml.Unmarshal(prepareMigrateYAML, &d); err != nil {
		return nil, fmt.Errorf("harbor/prepare_migrate.yaml: %w", err)
	}
	// Every version in the data parses (mustVersion relies on it) and every program exists.
	for name, l := range d.Lines {
		versions := []string{name + ".0", l.Target}
		for _, s := range l.Steps {
			if d.Programs[s.Program] == nil {
				return nil, fmt.Errorf("harbor/prepare_migrate.yaml: line %s step %s: no program %s", name, s.To, s.Program)
			}
			versions = append(versions, s.From, s.To)
		}
		for _, loss := range l.Losses {
			versions = append(versions, loss.Below)
		}
		for _, v := range versions {
			if _, err := ParseVersion(v); err != nil {
				return nil, fmt.Errorf("harbor/prepare_migrate.yaml: line %s: %w", name, err)
			}
		}
	}
	return &d, nil
})

// CheckForPrepareMigrate checks, before anything is stopped, that Harbor's real `prepare
// migrate` of release ("v2.15.2"; any patch of a line uses the line's data) will migrate this
// harbor.yml to the release's own config schema (its `-t` default): nil when it does (or the
// _version already equals it), else a *MigrationInputError whose problems name each key and its
// fix. The rules are the first step of the release's chain, read from its template (a value it
// reads that is missing, null where a mapping is read, of a type it cannot loop over, or that,
// written unquoted, is no longer YAML), plus the line's losses between steps. Python 3 writes
// non-ASCII fine, so unlike CheckForMigrator non-ASCII is accepted.
func (c *Config) CheckForPrepareMigrate(release string) error {
	rv, err := ParseVersion(release)
	if err != nil {
		return err
	}
	d, err := prepareDataOnce()
	if err != nil {
		return err
	}
	line := d.Lines[rv.Line()]
	from := c.ConfigVersion()
	if line == nil {
		return &MigrationInputError{From: from, To: rv.String(), Reason: "bundle has no data on the prepare migrate of release line " + rv.Line()}
	}
	e := &MigrationInputError{From: from, To: line.Target}
	if c.pyTabLine > 0 {
		// Whatever the versions: prepare reads harbor.yml with PyYAML on every install.sh run.
		e.Problems = append(e.Problems, tabProblem(c.pyTabLine))
	}
	fv, err := ParseVersion(from)
	switch {
	case err != nil:
		e.Reason = "it has no readable _version line (Harbor 1.8 and later write one; 1.7 and older use harbor.cfg)"
		return e
	case from == line.Target:
		return e.orNil() // "no need to upgrade"
	case fv.Compare(Version{1, 9, 0}) < 0:
		e.Reason = "Harbor 2.x's prepare migrate refuses _version older than 1.9.0; upgrade to v1.10.x first"
		return e
	}
	first := -1
	for i, s := range line.Steps {
		if s.From == from {
			first = i
			break
		}
	}
	if first < 0 {
		if fv.Compare(mustVersion(line.Target)) > 0 {
			e.Reason = "it is newer than the target; Harbor does not migrate configurations back"
		} else {
			e.Reason = fmt.Sprintf("prepare migrate of %s has no step from _version %s (it accepts the x.y.0 schema versions Harbor writes); set _version to the schema of the release that wrote the file", line.Prepare, from)
		}
		return e
	}
	step := line.Steps[first]
	ev := &pmEval{step: step, release: line.Prepare, seen: map[string]bool{}}
	root := c.root()
	if line.StrongSSLCiphers {
		for _, k := range []string{"https", "internal_tls"} {
			if v := resolve(mappingValue(root, k)); v != nil && truthy(v) && v.Kind != yaml.MappingNode {
				ev.addf("%s is %s, not a mapping; prepare migrate of %s reads its strong_ssl_ciphers: set the %s settings under it or remove the %s: line", k, describeNode(v), line.Prepare, k, k)
			}
		}
	}
	for _, k := range step.Mappings {
		if v := resolve(mappingValue(root, k)); v != nil && truthy(v) && v.Kind != yaml.MappingNode {
			ev.addf("%s is %s, not a mapping; the %s step of prepare migrate %s reads its settings: set them under it or remove the %s: line", k, describeNode(v), step.To, line.Prepare, k)
		}
	}
	for _, p := range step.Numbers {
		if v := c.lookup(strings.Split(p, ".")); v != nil && v.Kind == yaml.ScalarNode && truthy(v) {
			if k := pyScalar(v).kind; k != "int" && k != "float" && k != "bool" {
				ev.addf("%s is not a number; the %s step of prepare migrate %s compares it with numbers: write it without quotes, as a number", p, step.To, line.Prepare)
			}
		}
	}
	var scope []map[string]scoped
	if line.StrongSSLCiphers {
		scope = append(scope, map[string]scoped{"strong_ssl_ciphers": {strongSSLCiphers(root), "strong_ssl_ciphers"}})
	}
	ev.run(d.Programs[step.Program], root, scope)
	for _, l := range line.Losses {
		if fv.Compare(mustVersion(l.Below)) < 0 && c.lookup(strings.Split(l.Key, ".")) != nil {
			e.Problems = append(e.Problems, fmt.Sprintf("harbor.yml: %s: prepare migrate of %s fails on it from _version %s (%s); %s", l.Key, line.Prepare, from, l.Why, l.Fix))
		}
	}
	e.Problems = append(ev.problems, e.Problems...)
	return e.orNil()
}

// mustVersion parses a version of the data, which prepareDataOnce has checked.
func mustVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic("harbor/prepare_migrate.yaml: bad version " + s)
	}
	return v
}

// strongSSLCiphers is what read_conf puts in strong_ssl_ciphers (nil: it does not set it).
func strongSSLCiphers(root *yaml.Node) *yaml.Node {
	get := func(sec string) *yaml.Node {
		if m := resolve(mappingValue(root, sec)); m != nil && m.Kind == yaml.MappingNode {
			return resolve(mappingValue(m, "strong_ssl_ciphers"))
		}
		return nil
	}
	if v := get("https"); v != nil && truthy(v) {
		return v
	}
	if v := get("internal_tls"); v != nil {
		return v
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
}

// pmEval runs a step's program over a harbor.yml as jinja with StrictUndefined would, collecting
// one line per value whose read would crash the step or whose written text would not be YAML.
type pmEval struct {
	step     pmStep
	release  string
	problems []string
	seen     map[string]bool
}

func (ev *pmEval) addf(format string, args ...any) {
	p := "harbor.yml: " + fmt.Sprintf(format, args...)
	if !ev.seen[p] {
		ev.seen[p] = true
		ev.problems = append(ev.problems, p)
	}
}

// scoped is a loop variable: its value and the path it came from, for messages.
type scoped struct {
	n    *yaml.Node
	path string
}

// lookup resolves a dotted path as jinja's getattr does on what PyYAML loaded: the value, the
// path as the administrator knows it, and why it is undefined ("" when it is not).
func (ev *pmEval) lookup(path string, root *yaml.Node, scope []map[string]scoped) (*yaml.Node, string, string) {
	parts := strings.Split(path, ".")
	var cur *yaml.Node
	shown := parts[0]
	found := false
	for i := len(scope) - 1; i >= 0 && !found; i-- {
		var s scoped
		if s, found = scope[i][parts[0]]; found {
			cur, shown = s.n, s.path
		}
	}
	if !found {
		cur = resolve(mappingValue(root, parts[0]))
		if cur == nil {
			return nil, shown, "is missing"
		}
	}
	for _, p := range parts[1:] {
		if cur.Kind != yaml.MappingNode {
			return nil, shown, "is " + describeNode(cur) + ", not a mapping with " + p
		}
		next := resolve(mappingValue(cur, p))
		shown += "." + p
		if next == nil {
			return nil, shown, "is missing"
		}
		cur = next
	}
	return cur, shown, ""
}

func (ev *pmEval) undefinedf(shown, why string) {
	if strings.HasPrefix(why, "is empty (null)") {
		ev.addf("%s %s; the %s step of prepare migrate %s reads it: fill the section in as in the default harbor.yml of that release, or remove the line",
			shown, why, ev.step.To, ev.release)
		return
	}
	ev.addf("%s %s; the %s step of prepare migrate %s reads it: add it as in the default harbor.yml of that release, or remove the section that needs it",
		shown, why, ev.step.To, ev.release)
}

func (ev *pmEval) run(prog []pmNode, root *yaml.Node, scope []map[string]scoped) {
	for _, n := range prog {
		switch {
		case n.Read != "":
			v, shown, why := ev.lookup(n.Read, root, scope)
			if why != "" {
				ev.undefinedf(shown, why)
				continue
			}
			ev.written(v, shown, n.As == "lower")
		case n.If != nil:
			ok, good := ev.cond(*n.If, root, scope)
			if !good {
				continue
			}
			if ok {
				ev.run(n.Then, root, scope)
			} else {
				ev.run(n.Else, root, scope)
			}
		case n.Each != "":
			v, shown, why := ev.lookup(n.Each, root, scope)
			if why != "" {
				ev.undefinedf(shown, why)
				continue
			}
			ev.each(n, v, shown, root, scope)
		}
	}
}

func (ev *pmEval) each(n pmNode, v *yaml.Node, shown string, root *yaml.Node, scope []map[string]scoped) {
	if n.Items {
		if v.Kind != yaml.MappingNode {
			ev.addf("%s is %s, not a mapping; the %s step of prepare migrate %s loops over its settings: set them under it or remove the line", shown, describeNode(v), ev.step.To, ev.release)
			return
		}
		for i := 0; i+1 < len(v.Content); i += 2 {
			k, val := v.Content[i], resolve(v.Content[i+1])
			if val == nil {
				val = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
			}
			inner := map[string]scoped{}
			if len(n.Vars) > 0 {
				inner[n.Vars[0]] = scoped{k, shown + "." + k.Value}
			}
			if len(n.Vars) > 1 {
				inner[n.Vars[1]] = scoped{val, shown + "." + k.Value}
			}
			ev.run(n.Do, root, append(scope, inner))
		}
		return
	}
	var items []*yaml.Node
	switch {
	case v.Kind == yaml.SequenceNode:
		items = v.Content
	case v.Kind == yaml.MappingNode:
		for i := 0; i < len(v.Content); i += 2 {
			items = append(items, v.Content[i])
		}
	case v.Kind == yaml.ScalarNode && pyScalar(v).kind == "str":
		// Python iterates a string's characters; harmless, and what the real step writes.
		return
	default:
		ev.addf("%s is %s, not a list; the %s step of prepare migrate %s loops over it: make it a list or remove the line", shown, describeNode(v), ev.step.To, ev.release)
		return
	}
	for _, it := range items {
		inner := map[string]scoped{}
		if len(n.Vars) > 0 {
			inner[n.Vars[0]] = scoped{resolve(it), shown}
		}
		ev.run(n.Do, root, append(scope, inner))
	}
}

// cond evaluates c; good is false when evaluating it crashes the step (reported).
func (ev *pmEval) cond(c pmCond, root *yaml.Node, scope []map[string]scoped) (ok, good bool) {
	switch {
	case c.Defined != "":
		_, _, why := ev.lookup(c.Defined, root, scope)
		return why == "", true
	case c.None != "":
		v, _, why := ev.lookup(c.None, root, scope)
		return why == "" && isNull(v), true
	case c.Truthy != "":
		v, shown, why := ev.lookup(c.Truthy, root, scope)
		if why != "" {
			ev.undefinedf(shown, why)
			return false, false
		}
		return truthy(v), true
	case c.Eq != nil:
		v, shown, why := ev.lookup(c.Eq[0], root, scope)
		if why != "" {
			ev.undefinedf(shown, why)
			return false, false
		}
		return v.Kind == yaml.ScalarNode && pyScalar(v) == pyValue{"str", c.Eq[1]}, true
	case c.Not != nil:
		ok, good := ev.cond(*c.Not, root, scope)
		return !ok, good
	case c.All != nil:
		for _, s := range c.All {
			if ok, good := ev.cond(s, root, scope); !ok || !good {
				return false, good
			}
		}
		return true, true
	case c.Any != nil:
		for _, s := range c.Any {
			if ok, good := ev.cond(s, root, scope); ok || !good {
				return ok, good
			}
		}
		return false, true
	}
	return false, true
}

// written checks a value the step writes as text after `key: `.
func (ev *pmEval) written(v *yaml.Node, shown string, lower bool) {
	if v.Kind != yaml.ScalarNode {
		return // Python writes a dict or list as its repr, a flow collection YAML reads back
	}
	if lower {
		cp := *v
		cp.Value = strings.ToLower(v.Value)
		v = &cp
	}
	if why := unquotedBreaks(v); why != "" {
		ev.addf("%s %s; prepare migrate %s writes it unquoted, so the migrated file would not be YAML: change the value before upgrading", shown, why, ev.release)
	}
}

// PrepareMigrateLines lists the 2.x release lines the data covers, oldest first.
func PrepareMigrateLines() []string {
	d, err := prepareDataOnce()
	if err != nil {
		return nil
	}
	var out []string
	for l := range d.Lines {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return mustVersion(out[i]+".0").Compare(mustVersion(out[j]+".0")) < 0 })
	return out
}
