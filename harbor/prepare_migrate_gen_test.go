package harbor

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/internal/harborreal"
	"gopkg.in/yaml.v3"
)

var updatePrepare = flag.Bool("update-prepare", false, "rewrite harbor/prepare_migrate.yaml (lines and programs) from ../shared/harbor-real/prepare; losses are kept")

// TestPrepareStepsMatchRealTemplates derives, from every release's real prepare program, the
// chain of steps, each step's program (parsed from its harbor.yml.jinja) and read_conf's
// strong_ssl_ciphers, and requires prepare_migrate.yaml to hold exactly that.
func TestPrepareStepsMatchRealTemplates(t *testing.T) {
	root := harborreal.RequireRoot(t)
	got, err := derivePrepareData(filepath.Join(root, "prepare"))
	if err != nil {
		t.Fatal(err)
	}
	have, err := prepareDataOnce()
	if err != nil {
		t.Fatal(err)
	}
	for name, l := range have.Lines {
		if g := got.Lines[name]; g != nil {
			g.Losses = l.Losses
		}
	}
	if *updatePrepare {
		var buf bytes.Buffer
		buf.WriteString("# What Harbor 2.x's `prepare migrate` reads, per release line: see harbor/prepare_migrate.go.\n" +
			"# lines and programs are generated from ../shared/harbor-real/prepare by\n" +
			"#   go test ./harbor -run TestPrepareStepsMatchRealTemplates -update-prepare\n" +
			"# (a program is a step template's control flow and the values it reads, no output text);\n" +
			"# losses are written by hand and kept by the generator.\n")
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		must(t, enc.Encode(got))
		must(t, os.WriteFile("prepare_migrate.yaml", buf.Bytes(), 0o644))
		t.Log("rewrote prepare_migrate.yaml; rebuild to embed it")
		return
	}
	a, _ := yaml.Marshal(got)
	b, _ := yaml.Marshal(have)
	if !bytes.Equal(a, b) {
		t.Fatalf("prepare_migrate.yaml differs from what Harbor's real prepare programs read; run go test ./harbor -run TestPrepareStepsMatchRealTemplates -update-prepare and review the diff")
	}
	if len(have.Lines) != 16 {
		t.Errorf("%d release lines, want every 2.x line 2.0 .. 2.15", len(have.Lines))
	}
}

// TestPrepareTemplatesReadAccountedFor extracts, independently of the parser above (by a plain
// scan of every {{ }} and {% %}), the variable paths each real 2.x step template reads, for
// every release, and checks that the step's program in the data reads each of them.
func TestPrepareTemplatesReadAccountedFor(t *testing.T) {
	root := harborreal.RequireRoot(t)
	d, err := prepareDataOnce()
	must(t, err)
	checked := 0
	for name, l := range d.Lines {
		for _, s := range l.Steps {
			src, err := os.ReadFile(filepath.Join(root, "prepare", l.Prepare, "migrations", "version_"+strings.ReplaceAll(s.To, ".", "_"), "harbor.yml.jinja"))
			must(t, err)
			read := templatePaths2x(string(src))
			ours := programPaths(d.Programs[s.Program])
			for p := range read {
				if !ours[p] {
					t.Errorf("line %s: %s step of %s reads %s, which the data does not", name, s.To, l.Prepare, p)
				}
			}
			for p := range ours {
				if !read[p] {
					t.Errorf("line %s: the data of the %s step of %s reads %s, which the template does not", name, s.To, l.Prepare, p)
				}
			}
			if len(read) < 30 {
				t.Errorf("%s %s: only %d paths extracted", l.Prepare, s.To, len(read))
			}
			checked++
		}
	}
	if checked < 100 {
		t.Errorf("only %d step templates checked", checked)
	}
}

// templatePaths2x: every dotted name in a tag that is not a jinja word, a string, a filter or a
// loop variable (loop variables are reported as the loop's source path).
func templatePaths2x(src string) map[string]bool {
	out := map[string]bool{}
	loopVars := map[string]bool{}
	for _, m := range jinjaTag.FindAllStringSubmatch(src, -1) {
		expr := jinjaString.ReplaceAllString(m[1]+m[2], "")
		expr = regexp.MustCompile(`\s*\.\s*`).ReplaceAllString(expr, ".")
		expr = regexp.MustCompile(`\|\s*[a-z]+`).ReplaceAllString(expr, "")
		if f := regexp.MustCompile(`^\s*for\s+(.*?)\s+in\s`).FindStringSubmatch(expr); f != nil {
			for _, v := range strings.Split(f[1], ",") {
				loopVars[strings.TrimSpace(v)] = true
			}
			expr = expr[len(f[0]):]
		}
		for _, p := range jinjaPath.FindAllString(expr, -1) {
			p = strings.TrimSuffix(p, ".items")
			first, _, _ := strings.Cut(p, ".")
			if jinjaWords[p] || p == "for" || loopVars[first] {
				continue
			}
			out[p] = true
		}
	}
	return out
}

// programPaths: the root paths a program reads or tests.
func programPaths(prog []pmNode) map[string]bool {
	out := map[string]bool{}
	vars := map[string]bool{}
	add := func(p string) {
		if first, _, _ := strings.Cut(p, "."); p != "" && !vars[first] {
			out[p] = true
		}
	}
	var cond func(c pmCond)
	cond = func(c pmCond) {
		add(c.Defined)
		add(c.None)
		add(c.Truthy)
		if c.Eq != nil {
			add(c.Eq[0])
		}
		if c.Not != nil {
			cond(*c.Not)
		}
		for _, s := range append(c.All, c.Any...) {
			cond(s)
		}
	}
	var walk func([]pmNode)
	walk = func(ns []pmNode) {
		for _, n := range ns {
			add(n.Read)
			add(n.Each)
			if n.If != nil {
				cond(*n.If)
			}
			for _, v := range n.Vars {
				vars[v] = true
			}
			walk(n.Then)
			walk(n.Else)
			walk(n.Do)
		}
	}
	walk(prog)
	return out
}

var (
	pyRevision   = regexp.MustCompile(`(?m)^revision = '([0-9.]+)'`)
	pyDown       = regexp.MustCompile(`(?m)^down_revisions? = \[?'([0-9.]+)'\]?`)
	pyDictGet    = regexp.MustCompile(`config_dict\.get\('([a-z_]+)'\)`)
	pyCompared   = regexp.MustCompile(`[<>]=? *db_conf\['([a-z_]+)'\]|db_conf\['([a-z_]+)'\] *[<>]`)
	pyTarget     = regexp.MustCompile(`'--target', default='([0-9.]+)'`)
	pyAccept     = regexp.MustCompile(`accept_versions = \{([^}]*)\}`)
	jinjaTagOnly = regexp.MustCompile(`(?s)\{\{(.*?)\}\}|\{%(.*?)%\}`)
)

// derivePrepareData reads every prepare/vX.Y.Z program under dir.
func derivePrepareData(dir string) (*prepareData, error) {
	rels, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	d := &prepareData{Lines: map[string]*pmLine{}, Programs: map[string][]pmNode{}}
	byHash := map[string]string{}
	// Oldest release first, so a shared program is named after the first release with it.
	var names []string
	for _, r := range rels {
		names = append(names, r.Name())
	}
	sort.Slice(names, func(i, j int) bool { return mustVersion(names[i]).Compare(mustVersion(names[j])) < 0 })
	for _, rel := range names {
		base := filepath.Join(dir, rel)
		mig, err := os.ReadFile(filepath.Join(base, "commands", "migrate.py"))
		if err != nil {
			return nil, err
		}
		tm := pyTarget.FindSubmatch(mig)
		if tm == nil {
			return nil, fmt.Errorf("%s: commands/migrate.py: no -t default", rel)
		}
		line := &pmLine{Prepare: rel, Target: string(tm[1])}
		rc, err := os.ReadFile(filepath.Join(base, "utils", "migration.py"))
		if err != nil {
			return nil, err
		}
		line.StrongSSLCiphers = bytes.Contains(rc, []byte("d['strong_ssl_ciphers'] ="))
		init, err := os.ReadFile(filepath.Join(base, "migrations", "__init__.py"))
		if err != nil {
			return nil, err
		}
		am := pyAccept.FindSubmatch(init)
		if am == nil {
			return nil, fmt.Errorf("%s: migrations/__init__.py: no accept_versions", rel)
		}
		// Walk down from the target through down_revisions: the chain `search` finds.
		var chain []pmStep
		for v := line.Target; v != "1.9.0"; {
			stepDir := filepath.Join(base, "migrations", "version_"+strings.ReplaceAll(v, ".", "_"))
			py, err := os.ReadFile(filepath.Join(stepDir, "__init__.py"))
			if err != nil {
				return nil, err
			}
			rm, dm := pyRevision.FindSubmatch(py), pyDown.FindSubmatch(py)
			if rm == nil || dm == nil || string(rm[1]) != v {
				return nil, fmt.Errorf("%s: %s: no revision %s with one down_revision", rel, stepDir, v)
			}
			src, err := os.ReadFile(filepath.Join(stepDir, "harbor.yml.jinja"))
			if err != nil {
				return nil, err
			}
			prog, err := parseJinjaProgram(string(src))
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", rel, stepDir, err)
			}
			key, _ := yaml.Marshal(prog)
			sum := sha256.Sum256(key)
			h := hex.EncodeToString(sum[:])
			id, ok := byHash[h]
			if !ok {
				id = v + "@" + rel
				byHash[h] = id
				d.Programs[id] = prog
			}
			step := pmStep{From: string(dm[1]), To: v, Program: id}
			for _, m := range pyDictGet.FindAllSubmatch(py, -1) {
				step.Mappings = append(step.Mappings, string(m[1]))
			}
			for _, m := range pyCompared.FindAllSubmatch(py, -1) {
				if len(step.Mappings) != 1 {
					return nil, fmt.Errorf("%s: %s compares db_conf but reads %d sections", rel, stepDir, len(step.Mappings))
				}
				step.Numbers = append(step.Numbers, step.Mappings[0]+"."+string(m[1])+string(m[2]))
			}
			chain = append([]pmStep{step}, chain...)
			v = step.From
		}
		line.Steps = chain
		d.Lines[mustVersion(rel).Line()] = line
	}
	return d, nil
}

// parseJinjaProgram turns a template into its program: the tags' structure and the values they
// read, output text dropped. It knows the jinja the real templates use (if/elif/else, for over a
// path or a path's items(), `is defined`, `is not none`, ==, !=, and, or, not, filters, x if c else y).
// An open block's slot points into its parent's slice, which grows only after the block is closed
// (only the innermost open branch is appended to), so no slot pointer outlives a move.
func parseJinjaProgram(src string) ([]pmNode, error) {
	type frame struct {
		node   *pmNode // the if or for being filled
		branch *[]pmNode
	}
	var top []pmNode
	stack := []frame{{branch: &top}}
	cur := func() *[]pmNode { return stack[len(stack)-1].branch }
	for _, m := range jinjaTagOnly.FindAllStringSubmatch(src, -1) {
		if m[1] != "" || strings.HasPrefix(m[0], "{{") {
			e, err := parseJinjaExpr(m[1])
			if err != nil {
				return nil, fmt.Errorf("%q: %w", m[0], err)
			}
			*cur() = append(*cur(), e.output()...)
			continue
		}
		stmt := strings.TrimSpace(m[2])
		word, rest, _ := strings.Cut(stmt, " ")
		switch word {
		case "if":
			e, err := parseJinjaExpr(rest)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", m[0], err)
			}
			n := &pmNode{If: e.cond()}
			*cur() = append(*cur(), pmNode{})
			slot := &(*cur())[len(*cur())-1]
			*slot = *n
			stack = append(stack, frame{node: slot, branch: &slot.Then})
		case "elif":
			e, err := parseJinjaExpr(rest)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", m[0], err)
			}
			f := &stack[len(stack)-1]
			f.node.Else = []pmNode{{If: e.cond()}}
			f.node = &f.node.Else[0]
			f.branch = &f.node.Then
		case "else":
			f := &stack[len(stack)-1]
			f.branch = &f.node.Else
		case "endif", "endfor":
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return nil, fmt.Errorf("unbalanced %s", word)
			}
		case "for":
			vars, src, ok := strings.Cut(rest, " in ")
			if !ok {
				return nil, fmt.Errorf("%q: no in", m[0])
			}
			n := pmNode{}
			for _, v := range strings.Split(vars, ",") {
				n.Vars = append(n.Vars, strings.TrimSpace(v))
			}
			src = normDots(strings.TrimSpace(src))
			if p, ok := strings.CutSuffix(src, ".items()"); ok {
				n.Each, n.Items = p, true
			} else {
				n.Each = src
			}
			*cur() = append(*cur(), n)
			slot := &(*cur())[len(*cur())-1]
			stack = append(stack, frame{node: slot, branch: &slot.Do})
		default:
			return nil, fmt.Errorf("unknown tag %q", m[0])
		}
	}
	if len(stack) != 1 {
		return nil, fmt.Errorf("%d blocks not closed", len(stack)-1)
	}
	return top, nil
}

func normDots(s string) string { return regexp.MustCompile(`\s*\.\s*`).ReplaceAllString(s, ".") }

// jexpr is a parsed jinja expression.
type jexpr struct {
	op     string // "path", "lit", "defined", "none", "eq", "ne", "and", "or", "not", "filter", "cond"
	path   string
	lit    string
	filter string
	args   []*jexpr // operands; for "cond": then, test, else
}

// output is what `{{ e }}` does.
func (e *jexpr) output() []pmNode {
	switch e.op {
	case "lit":
		return nil
	case "path":
		return []pmNode{{Read: e.path}}
	case "filter":
		n := e.args[0].output()
		if len(n) == 1 && n[0].Read != "" && e.filter == "lower" {
			n[0].As = "lower"
		}
		return n
	case "or":
		// `x or ''`: x is tested, and written when truthy.
		return []pmNode{{If: e.args[0].cond(), Then: e.args[0].output(), Else: e.args[1].output()}}
	case "cond":
		return []pmNode{{If: e.args[1].cond(), Then: e.args[0].output(), Else: e.args[2].output()}}
	}
	return []pmNode{{If: e.cond()}}
}

func (e *jexpr) cond() *pmCond {
	switch e.op {
	case "path":
		return &pmCond{Truthy: e.path}
	case "filter":
		return e.args[0].cond()
	case "defined":
		return &pmCond{Defined: e.path}
	case "none":
		return &pmCond{None: e.path}
	case "eq":
		return &pmCond{Eq: []string{e.args[0].path, e.args[1].lit}}
	case "ne":
		return &pmCond{Not: &pmCond{Eq: []string{e.args[0].path, e.args[1].lit}}}
	case "not":
		return &pmCond{Not: e.args[0].cond()}
	case "and", "or":
		c := &pmCond{}
		for _, a := range e.args {
			if e.op == "and" {
				c.All = append(c.All, *a.cond())
			} else {
				c.Any = append(c.Any, *a.cond())
			}
		}
		return c
	}
	return &pmCond{}
}

var jinjaToken = regexp.MustCompile(`\s*('[^']*'|"[^"]*"|==|!=|[()|]|[A-Za-z_][A-Za-z0-9_]*(?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)*(?:\(\))?)`)

func parseJinjaExpr(s string) (*jexpr, error) {
	var toks []string
	rest := strings.TrimSpace(s)
	for rest != "" {
		m := jinjaToken.FindStringSubmatchIndex(rest)
		if m == nil || m[0] != 0 {
			return nil, fmt.Errorf("cannot read %q", rest)
		}
		toks = append(toks, normDots(rest[m[2]:m[3]]))
		rest = strings.TrimSpace(rest[m[1]:])
	}
	p := &jparser{toks: toks}
	e, err := p.expr()
	if err == nil && p.i != len(toks) {
		err = fmt.Errorf("trailing %q", toks[p.i:])
	}
	return e, err
}

type jparser struct {
	toks []string
	i    int
}

func (p *jparser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}
func (p *jparser) next() string { t := p.peek(); p.i++; return t }

func (p *jparser) expr() (*jexpr, error) {
	e, err := p.or()
	if err != nil || p.peek() != "if" {
		return e, err
	}
	p.next()
	test, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.next() != "else" {
		return nil, fmt.Errorf("if without else")
	}
	alt, err := p.expr()
	if err != nil {
		return nil, err
	}
	return &jexpr{op: "cond", args: []*jexpr{e, test, alt}}, nil
}

func (p *jparser) or() (*jexpr, error)  { return p.chain("or", p.and) }
func (p *jparser) and() (*jexpr, error) { return p.chain("and", p.not) }

func (p *jparser) chain(op string, sub func() (*jexpr, error)) (*jexpr, error) {
	e, err := sub()
	if err != nil {
		return nil, err
	}
	for p.peek() == op {
		p.next()
		r, err := sub()
		if err != nil {
			return nil, err
		}
		if e.op == op {
			e.args = append(e.args, r)
		} else {
			e = &jexpr{op: op, args: []*jexpr{e, r}}
		}
	}
	return e, nil
}

func (p *jparser) not() (*jexpr, error) {
	if p.peek() == "not" {
		p.next()
		e, err := p.not()
		if err != nil {
			return nil, err
		}
		return &jexpr{op: "not", args: []*jexpr{e}}, nil
	}
	return p.cmp()
}

func (p *jparser) cmp() (*jexpr, error) {
	e, err := p.primary()
	if err != nil {
		return nil, err
	}
	switch p.peek() {
	case "==", "!=":
		op := map[string]string{"==": "eq", "!=": "ne"}[p.next()]
		r, err := p.primary()
		if err != nil {
			return nil, err
		}
		if e.op != "path" || r.op != "lit" {
			return nil, fmt.Errorf("comparison other than path == 'literal'")
		}
		return &jexpr{op: op, args: []*jexpr{e, r}}, nil
	case "is":
		p.next()
		neg := false
		if p.peek() == "not" {
			p.next()
			neg = true
		}
		test := p.next()
		if e.op != "path" || (test != "defined" && test != "none") {
			return nil, fmt.Errorf("unknown test %q", test)
		}
		t := &jexpr{op: test, path: e.path}
		if neg {
			return &jexpr{op: "not", args: []*jexpr{t}}, nil
		}
		return t, nil
	}
	return e, nil
}

func (p *jparser) primary() (*jexpr, error) {
	t := p.next()
	var e *jexpr
	switch {
	case t == "(":
		var err error
		if e, err = p.expr(); err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, fmt.Errorf("missing )")
		}
	case strings.HasPrefix(t, "'") || strings.HasPrefix(t, `"`):
		e = &jexpr{op: "lit", lit: t[1 : len(t)-1]}
	case t == "" || strings.ContainsAny(t[:1], "()|=!"):
		return nil, fmt.Errorf("unexpected %q", t)
	case strings.HasSuffix(t, "()"):
		return nil, fmt.Errorf("call %q outside a for", t)
	default:
		e = &jexpr{op: "path", path: t}
	}
	for p.peek() == "|" {
		p.next()
		e = &jexpr{op: "filter", filter: p.next(), args: []*jexpr{e}}
	}
	return e, nil
}
