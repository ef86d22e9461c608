package roles

import (
	"fmt"
	"strings"
)

// The parser of the jinja2 subset: statements {% if/elif/else/endif %} and
// {% for a[, b] in x %}...[{% else %}]{% endfor %}, output {{ expr }}, and expressions with
// jinja2/parser.py's precedence: conditional `a if c else b` < or < and < not < comparison
// (== and != only) < unary postfix (attribute, subscript, call, `| filter`, `is [not] test`).

// jnode is one node of a template body.
type jnode interface{ isNode() }

type jData struct{ text string }
type jOutput struct {
	e    jexpr
	line int
}
type jIf struct {
	conds  []jexpr // if, elif, elif...
	bodies [][]jnode
	els    []jnode
	line   int
}
type jFor struct {
	targets []string
	iter    jexpr
	body    []jnode
	els     []jnode
	line    int
}

func (jData) isNode()   {}
func (jOutput) isNode() {}
func (jIf) isNode()     {}
func (jFor) isNode()    {}

// jexpr is an expression node.
type jexpr interface{ isExpr() }

type (
	eName    struct{ name string }
	eConst   struct{ v *pyVal }
	eGetattr struct {
		obj  jexpr
		name string
	}
	eGetitem struct{ obj, key jexpr }
	eCall    struct{ fn jexpr }
	eFilter  struct {
		e    jexpr
		name string
	}
	eTest struct {
		e      jexpr
		name   string
		negate bool
	}
	eNot struct{ e jexpr }
	eAnd struct{ a, b jexpr }
	eOr  struct{ a, b jexpr }
	eCmp struct {
		op   string
		a, b jexpr
	}
	eCond struct{ cond, yes, no jexpr }
)

func (eName) isExpr()    {}
func (eConst) isExpr()   {}
func (eGetattr) isExpr() {}
func (eGetitem) isExpr() {}
func (eCall) isExpr()    {}
func (eFilter) isExpr()  {}
func (eTest) isExpr()    {}
func (eNot) isExpr()     {}
func (eAnd) isExpr()     {}
func (eOr) isExpr()      {}
func (eCmp) isExpr()     {}
func (eCond) isExpr()    {}

// The filters and tests of the subset (jinja2/filters.py do_lower, jinja2/tests.py).
var (
	jinjaFilters = map[string]bool{"lower": true}
	jinjaTests   = map[string]bool{"defined": true, "undefined": true, "none": true}
)

// jinjaTemplate is a parsed template.
type jinjaTemplate struct{ body []jnode }

// parseJinja parses a template's source.
func parseJinja(src string) (*jinjaTemplate, error) {
	pieces, err := jinjaLex(src)
	if err != nil {
		return nil, err
	}
	p := &tplParser{pieces: pieces}
	body, end, err := p.body()
	if err != nil {
		return nil, err
	}
	if end != "" {
		return nil, &jinjaSyntaxError{p.line(), "unexpected '" + end + "'"}
	}
	return &jinjaTemplate{body: body}, nil
}

type tplParser struct {
	pieces []piece
	i      int
}

func (p *tplParser) line() int {
	if p.i > 0 && p.i <= len(p.pieces) {
		return p.pieces[p.i-1].line
	}
	return 0
}

// body parses nodes up to an ending tag (endif, elif, else, endfor), returned as end with the
// tag's piece consumed; end is "" at the end of the template.
func (p *tplParser) body() (nodes []jnode, end string, err error) {
	for p.i < len(p.pieces) {
		pc := p.pieces[p.i]
		p.i++
		switch pc.kind {
		case pieceData:
			nodes = append(nodes, jData{pc.text})
		case pieceVar:
			e, err := parseExprTokens(pc.toks, pc.line)
			if err != nil {
				return nil, "", err
			}
			nodes = append(nodes, jOutput{e, pc.line})
		case pieceBlock:
			if len(pc.toks) == 0 || pc.toks[0].kind != jtName {
				return nil, "", &jinjaSyntaxError{pc.line, "tag name expected"}
			}
			switch name := pc.toks[0].s; name {
			case "if":
				n, err := p.parseIf(pc)
				if err != nil {
					return nil, "", err
				}
				nodes = append(nodes, n)
			case "for":
				n, err := p.parseFor(pc)
				if err != nil {
					return nil, "", err
				}
				nodes = append(nodes, n)
			case "endif", "else", "endfor", "elif":
				if name != "elif" && len(pc.toks) != 1 {
					return nil, "", &jinjaSyntaxError{pc.line, "unexpected tokens after '" + name + "'"}
				}
				return nodes, name, nil
			default:
				return nil, "", &jinjaSyntaxError{pc.line, "tag '" + name + "' is outside the subset"}
			}
		}
	}
	return nodes, "", nil
}

func (p *tplParser) parseIf(pc piece) (jnode, error) {
	n := jIf{line: pc.line}
	toks := pc.toks[1:]
	for {
		cond, err := parseExprTokens(toks, pc.line)
		if err != nil {
			return nil, err
		}
		body, end, err := p.body()
		if err != nil {
			return nil, err
		}
		n.conds = append(n.conds, cond)
		n.bodies = append(n.bodies, body)
		switch end {
		case "elif":
			pc = p.pieces[p.i-1]
			toks = pc.toks[1:]
			continue
		case "else":
			els, end, err := p.body()
			if err != nil {
				return nil, err
			}
			if end != "endif" {
				return nil, &jinjaSyntaxError{p.line(), fmt.Sprintf("expected 'endif', got %q", end)}
			}
			n.els = els
			return n, nil
		case "endif":
			return n, nil
		}
		return nil, &jinjaSyntaxError{p.line(), fmt.Sprintf("expected 'elif', 'else' or 'endif', got %q", end)}
	}
}

func (p *tplParser) parseFor(pc piece) (jnode, error) {
	n := jFor{line: pc.line}
	toks := pc.toks[1:]
	for {
		if len(toks) == 0 || toks[0].kind != jtName {
			return nil, &jinjaSyntaxError{pc.line, "loop variable expected"}
		}
		n.targets = append(n.targets, toks[0].s)
		toks = toks[1:]
		if len(toks) > 0 && toks[0] == (jtok{jtOp, ","}) {
			toks = toks[1:]
			continue
		}
		break
	}
	for _, t := range toks {
		if t == (jtok{jtName, "if"}) || t == (jtok{jtName, "recursive"}) {
			return nil, &jinjaSyntaxError{pc.line, "loop filters and recursive loops are outside the subset"}
		}
	}
	if len(toks) == 0 || toks[0] != (jtok{jtName, "in"}) {
		return nil, &jinjaSyntaxError{pc.line, "expected 'in' in for"}
	}
	iter, err := parseExprTokens(toks[1:], pc.line)
	if err != nil {
		return nil, err
	}
	n.iter = iter
	body, end, err := p.body()
	if err != nil {
		return nil, err
	}
	n.body = body
	if end == "else" {
		if n.els, end, err = p.body(); err != nil {
			return nil, err
		}
	}
	if end != "endfor" {
		return nil, &jinjaSyntaxError{p.line(), fmt.Sprintf("expected 'endfor', got %q", end)}
	}
	return n, nil
}

// exprParser parses one expression from tokens.
type exprParser struct {
	toks []jtok
	i    int
	line int
}

func parseExprTokens(toks []jtok, line int) (jexpr, error) {
	p := &exprParser{toks: toks, line: line}
	var e jexpr
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				se, ok := r.(*jinjaSyntaxError)
				if !ok {
					panic(r)
				}
				err = se
			}
		}()
		e = p.cond()
		if p.i != len(p.toks) {
			p.fail("unexpected %q", p.toks[p.i].s)
		}
		return nil
	}()
	return e, err
}

func (p *exprParser) fail(format string, args ...any) {
	panic(&jinjaSyntaxError{p.line, fmt.Sprintf(format, args...)})
}

func (p *exprParser) peek() (jtok, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return jtok{}, false
}

func (p *exprParser) isName(s string) bool {
	t, ok := p.peek()
	return ok && t.kind == jtName && t.s == s
}

func (p *exprParser) isOp(s string) bool {
	t, ok := p.peek()
	return ok && t.kind == jtOp && t.s == s
}

func (p *exprParser) expectOp(s string) {
	if !p.isOp(s) {
		p.fail("expected %q", s)
	}
	p.i++
}

func (p *exprParser) cond() jexpr {
	e := p.or()
	for p.isName("if") {
		p.i++
		c := p.or()
		if !p.isName("else") {
			// jinja2 gives a plain (not strict) Undefined there: outside the subset.
			p.fail("an inline if without else is outside the subset")
		}
		p.i++
		e = eCond{cond: c, yes: e, no: p.cond()}
	}
	return e
}

func (p *exprParser) or() jexpr {
	e := p.and()
	for p.isName("or") {
		p.i++
		e = eOr{e, p.and()}
	}
	return e
}

func (p *exprParser) and() jexpr {
	e := p.not()
	for p.isName("and") {
		p.i++
		e = eAnd{e, p.not()}
	}
	return e
}

func (p *exprParser) not() jexpr {
	if p.isName("not") {
		p.i++
		return eNot{p.not()}
	}
	return p.compare()
}

func (p *exprParser) compare() jexpr {
	e := p.unary()
	for {
		t, ok := p.peek()
		switch {
		case ok && t.kind == jtOp && (t.s == "==" || t.s == "!="):
			p.i++
			e = eCmp{op: t.s, a: e, b: p.unary()}
			if p.isOp("==") || p.isOp("!=") {
				p.fail("chained comparisons are outside the subset")
			}
		case ok && (t.kind == jtOp && strings.ContainsAny(t.s, "<>+-*/%~") || t.kind == jtName && t.s == "in"):
			p.fail("operator %q is outside the subset", t.s)
		default:
			return e
		}
	}
}

// unary is jinja's parse_unary: a primary, its postfixes, then filters and tests.
func (p *exprParser) unary() jexpr {
	if p.isOp("-") || p.isOp("+") {
		p.fail("unary operators are outside the subset")
	}
	e := p.postfix(p.primary())
	for {
		switch {
		case p.isOp("|"):
			p.i++
			t, ok := p.peek()
			if !ok || t.kind != jtName {
				p.fail("filter name expected")
			}
			p.i++
			if !jinjaFilters[t.s] || p.isOp("(") || p.isOp(".") {
				p.fail("filter %q is outside the subset", t.s)
			}
			e = eFilter{e, t.s}
		case p.isName("is"):
			p.i++
			neg := false
			if p.isName("not") {
				p.i++
				neg = true
			}
			t, ok := p.peek()
			if !ok || t.kind != jtName {
				p.fail("test name expected")
			}
			p.i++
			if !jinjaTests[t.s] || p.isOp("(") || p.isOp(".") {
				p.fail("test %q is outside the subset", t.s)
			}
			// jinja reads a following primary as the test's argument (`x is sameas y`).
			if n, ok := p.peek(); ok && n.kind != jtOp && !(n.kind == jtName && (n.s == "else" || n.s == "or" || n.s == "and")) {
				p.fail("test arguments are outside the subset")
			}
			e = eTest{e, t.s, neg}
		default:
			return e
		}
	}
}

func (p *exprParser) primary() jexpr {
	t, ok := p.peek()
	if !ok {
		p.fail("unexpected end of expression")
	}
	p.i++
	switch t.kind {
	case jtName:
		switch t.s {
		case "true", "True":
			return eConst{&pyVal{kind: pyBool, b: true}}
		case "false", "False":
			return eConst{&pyVal{kind: pyBool}}
		case "none", "None":
			return eConst{&pyVal{kind: pyNone}}
		case "and", "or", "not", "if", "else", "in", "is":
			p.fail("unexpected %q", t.s)
		}
		return eName{t.s}
	case jtString:
		s := t.s
		for p.isString() { // jinja joins adjacent string literals
			s += p.toks[p.i].s
			p.i++
		}
		return eConst{&pyVal{kind: pyStr, s: s}}
	case jtInt:
		i, err := pyParseInt(strings.ReplaceAll(t.s, "_", ""))
		if err != nil {
			p.fail("bad integer %q", t.s)
		}
		return eConst{&pyVal{kind: pyInt, i: i}}
	case jtFloat:
		f, err := pyParseFloat(strings.ReplaceAll(t.s, "_", ""))
		if err != nil {
			p.fail("bad float %q", t.s)
		}
		return eConst{&pyVal{kind: pyFloat, f: f}}
	}
	if t.s == "(" {
		e := p.cond()
		if p.isOp(",") {
			p.fail("tuples are outside the subset")
		}
		p.expectOp(")")
		return e
	}
	p.fail("%q is outside the subset", t.s)
	return nil
}

func (p *exprParser) isString() bool {
	t, ok := p.peek()
	return ok && t.kind == jtString
}

func (p *exprParser) postfix(e jexpr) jexpr {
	for {
		switch {
		case p.isOp("."):
			p.i++
			t, ok := p.peek()
			if !ok || (t.kind != jtName && t.kind != jtInt) {
				p.fail("attribute name expected")
			}
			p.i++
			if t.kind == jtInt { // `x.0` is x[0] in jinja
				i, _ := pyParseInt(t.s)
				e = eGetitem{e, eConst{&pyVal{kind: pyInt, i: i}}}
			} else {
				e = eGetattr{e, t.s}
			}
		case p.isOp("["):
			p.i++
			k := p.cond()
			if p.isOp(":") || p.isOp(",") {
				p.fail("slices and tuples are outside the subset")
			}
			p.expectOp("]")
			e = eGetitem{e, k}
		case p.isOp("("):
			p.i++
			if !p.isOp(")") {
				p.fail("call arguments are outside the subset")
			}
			p.i++
			e = eCall{e}
		default:
			return e
		}
	}
}
