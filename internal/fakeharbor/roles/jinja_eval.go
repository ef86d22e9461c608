package roles

import (
	"fmt"
	"strings"
)

// The evaluator of the jinja2 subset over the values safe_load built (pyVal), with
// StrictUndefined: a missing variable or attribute is an undefined value, and printing it,
// testing its truth, comparing, iterating, calling it or reading an attribute of it raises
// UndefinedError; only the tests `defined`, `undefined` and `none` look at it without raising.
// Attribute access is jinja2's Environment.getattr: Python's getattr first (so `d.items` is the
// dict's method even when d has a key "items"), then the item, else undefined.

// pyException is a Python exception the render raises; the real program dies with its
// traceback, ending in "Type: Msg".
type pyException struct{ Type, Msg string }

func (e *pyException) Error() string { return e.Type + ": " + e.Msg }

// jinjaUnsupportedError is a template or value outside what the subset imitates: the fake must
// stop rather than render something the real jinja2 would not.
type jinjaUnsupportedError struct{ Msg string }

func (e *jinjaUnsupportedError) Error() string {
	return "fake prepare: outside the jinja2 subset: " + e.Msg
}

// jUndef is a StrictUndefined: obj is the value the attribute was read from (nil for a missing
// variable).
type jUndef struct {
	obj  *pyVal
	name *pyVal // the attribute or key read; a str for a variable
}

func (u *jUndef) message() string {
	switch {
	case u.obj == nil:
		return fmt.Sprintf("%s is undefined", u.name.repr())
	case u.name.kind == pyStr:
		return fmt.Sprintf("'%s' has no attribute %s", objectTypeRepr(u.obj), u.name.repr())
	}
	return fmt.Sprintf("'%s' has no element %s", objectTypeRepr(u.obj), u.name.repr())
}

// objectTypeRepr is jinja2.utils.object_type_repr.
func objectTypeRepr(v *pyVal) string {
	if v.kind == pyNone {
		return "None"
	}
	return pyTypeName(v) + " object"
}

// jMethod is a bound method of a dict (`d.items`).
type jMethod struct {
	recv *pyVal
	name string
}

// jTuple is a tuple (an item of dict.items()).
type jTuple []*pyVal

// jItems is what dict.items() returns.
type jItems struct{ d *pyVal }

// The attributes Python's getattr finds on a dict: jinja returns them before any key. Of these
// only items() is imitated; the others stop the render (no template reads them).
var pyDictAttrs = map[string]bool{"clear": true, "copy": true, "fromkeys": true, "get": true, "items": true,
	"keys": true, "pop": true, "popitem": true, "setdefault": true, "update": true, "values": true}

// Jinja's default globals: a template naming one that the config lacks would get a function.
var jinjaGlobals = map[string]bool{"range": true, "dict": true, "lipsum": true, "cycler": true, "joiner": true, "namespace": true}

type jinjaRender struct {
	scopes []map[string]any
	out    strings.Builder
}

type jinjaPanic struct{ err error }

func jraise(err error) { panic(jinjaPanic{err}) }

func (r *jinjaRender) undefinedError(u *jUndef) {
	jraise(&pyException{"jinja2.exceptions.UndefinedError", u.message()})
}

// renderJinja is tpl.render(**vars): vars must be a dict with string keys (keyword arguments).
func renderJinja(t *jinjaTemplate, vars *pyVal) (text string, err error) {
	if vars == nil || vars.kind != pyDict {
		return "", &pyException{"TypeError", "jinja2.environment.Template.render() argument after ** must be a mapping, not " + pyTypeName(vars)}
	}
	top := map[string]any{}
	for i, k := range vars.keys {
		if k.kind != pyStr {
			return "", &pyException{"TypeError", "keywords must be strings"}
		}
		if k.s == "self" {
			return "", &pyException{"TypeError", "Template.render() got multiple values for argument 'self'"}
		}
		top[k.s] = vars.vals[i]
	}
	r := &jinjaRender{scopes: []map[string]any{top}}
	defer func() {
		if p := recover(); p != nil {
			jp, ok := p.(jinjaPanic)
			if !ok {
				panic(p)
			}
			text, err = "", jp.err
		}
	}()
	r.nodes(t.body)
	return r.out.String(), nil
}

func (r *jinjaRender) nodes(ns []jnode) {
	for _, n := range ns {
		switch n := n.(type) {
		case jData:
			r.out.WriteString(n.text)
		case jOutput:
			r.out.WriteString(r.str(r.eval(n.e)))
		case jIf:
			done := false
			for i, c := range n.conds {
				if r.truth(r.eval(c)) {
					r.nodes(n.bodies[i])
					done = true
					break
				}
			}
			if !done {
				r.nodes(n.els)
			}
		case jFor:
			r.loop(n)
		}
	}
}

func (r *jinjaRender) loop(n jFor) {
	items := r.iterate(r.eval(n.iter))
	for _, it := range items {
		scope := map[string]any{"loop": nil} // `loop` is jinja's LoopContext: not imitated
		if len(n.targets) == 1 {
			scope[n.targets[0]] = it
		} else {
			if isNotIterable(it) {
				jraise(&pyException{"TypeError", fmt.Sprintf("cannot unpack non-iterable %s object", typeName(it))})
			}
			parts := r.iterate(it)
			switch {
			case len(parts) < len(n.targets):
				jraise(&pyException{"ValueError", fmt.Sprintf("not enough values to unpack (expected %d, got %d)", len(n.targets), len(parts))})
			case len(parts) > len(n.targets):
				jraise(&pyException{"ValueError", fmt.Sprintf("too many values to unpack (expected %d)", len(n.targets))})
			}
			for i, t := range n.targets {
				scope[t] = parts[i]
			}
		}
		r.scopes = append(r.scopes, scope)
		r.nodes(n.body)
		r.scopes = r.scopes[:len(r.scopes)-1]
	}
	if len(items) == 0 {
		r.nodes(n.els)
	}
}

func isNotIterable(v any) bool {
	p, ok := v.(*pyVal)
	return ok && p.kind != pyList && p.kind != pyDict && p.kind != pyStr
}

func typeName(v any) string {
	switch v := v.(type) {
	case *pyVal:
		return pyTypeName(v)
	case jTuple:
		return "tuple"
	case *jUndef:
		return "StrictUndefined"
	}
	return "object"
}

// iterate is Python's iter(): a list's items, a dict's keys, a string's characters.
func (r *jinjaRender) iterate(v any) []any {
	var out []any
	switch v := v.(type) {
	case *jUndef:
		r.undefinedError(v)
	case jTuple:
		for _, x := range v {
			out = append(out, x)
		}
	case jItems:
		for i := range v.d.keys {
			out = append(out, jTuple{v.d.keys[i], v.d.vals[i]})
		}
	case *pyVal:
		switch v.kind {
		case pyList:
			for _, x := range v.list {
				out = append(out, x)
			}
		case pyDict:
			for _, k := range v.keys {
				out = append(out, k)
			}
		case pyStr:
			for _, c := range v.s {
				out = append(out, &pyVal{kind: pyStr, s: string(c)})
			}
		default:
			jraise(&pyException{"TypeError", fmt.Sprintf("'%s' object is not iterable", pyTypeName(v))})
		}
	default:
		jraise(&jinjaUnsupportedError{fmt.Sprintf("iterating %T", v)})
	}
	return out
}

func (r *jinjaRender) lookup(name string) any {
	for i := len(r.scopes) - 1; i >= 0; i-- {
		if v, ok := r.scopes[i][name]; ok {
			if v == nil {
				jraise(&jinjaUnsupportedError{"the loop variable"})
			}
			return v
		}
	}
	if jinjaGlobals[name] {
		jraise(&jinjaUnsupportedError{"the global " + name})
	}
	return &jUndef{name: &pyVal{kind: pyStr, s: name}}
}

func (r *jinjaRender) eval(e jexpr) any {
	switch e := e.(type) {
	case eName:
		return r.lookup(e.name)
	case eConst:
		return e.v
	case eGetattr:
		return r.getattr(r.eval(e.obj), e.name)
	case eGetitem:
		return r.getitem(r.eval(e.obj), r.eval(e.key))
	case eCall:
		f := r.eval(e.fn)
		switch f := f.(type) {
		case *jUndef:
			r.undefinedError(f)
		case jMethod:
			if f.name == "items" {
				return jItems{f.recv}
			}
			jraise(&jinjaUnsupportedError{"dict." + f.name + "()"})
		case *pyVal:
			jraise(&pyException{"TypeError", fmt.Sprintf("'%s' object is not callable", pyTypeName(f))})
		}
		jraise(&jinjaUnsupportedError{fmt.Sprintf("calling %T", f)})
	case eFilter: // lower: soft_str(s).lower()
		return &pyVal{kind: pyStr, s: pyLower(r.str(r.eval(e.e)))}
	case eTest:
		v := r.eval(e.e)
		_, undef := v.(*jUndef)
		var res bool
		switch e.name {
		case "defined":
			res = !undef
		case "undefined":
			res = undef
		case "none":
			p, ok := v.(*pyVal)
			res = ok && p.kind == pyNone
		}
		return &pyVal{kind: pyBool, b: res != e.negate}
	case eNot:
		return &pyVal{kind: pyBool, b: !r.truth(r.eval(e.e))}
	case eAnd:
		a := r.eval(e.a)
		if !r.truth(a) {
			return a
		}
		return r.eval(e.b)
	case eOr:
		a := r.eval(e.a)
		if r.truth(a) {
			return a
		}
		return r.eval(e.b)
	case eCmp:
		eq := r.equal(r.eval(e.a), r.eval(e.b))
		return &pyVal{kind: pyBool, b: eq == (e.op == "==")}
	case eCond:
		if r.truth(r.eval(e.cond)) {
			return r.eval(e.yes)
		}
		return r.eval(e.no)
	}
	jraise(&jinjaUnsupportedError{fmt.Sprintf("expression %T", e)})
	return nil
}

func (r *jinjaRender) getattr(obj any, name string) any {
	switch o := obj.(type) {
	case *jUndef:
		r.undefinedError(o)
	case *pyVal:
		if o.kind == pyDict {
			if pyDictAttrs[name] {
				return jMethod{o, name}
			}
			if v, ok := o.get(name); ok {
				return v
			}
		}
		// Other types' Python attributes (str.upper, int.real...) are named by no template: a
		// template that did would read a method or a number here, not an undefined.
		return &jUndef{obj: o, name: &pyVal{kind: pyStr, s: name}}
	}
	jraise(&jinjaUnsupportedError{fmt.Sprintf("attribute %s of %T", name, obj)})
	return nil
}

// getitem is Environment.getitem: obj[key], else the attribute for a string key, else undefined.
func (r *jinjaRender) getitem(obj, key any) any {
	o, ok := obj.(*pyVal)
	k, kok := key.(*pyVal)
	if u, isU := obj.(*jUndef); isU {
		r.undefinedError(u)
	}
	if u, isU := key.(*jUndef); isU {
		r.undefinedError(u) // hashing a StrictUndefined raises
	}
	if !ok || !kok {
		jraise(&jinjaUnsupportedError{fmt.Sprintf("subscript of %T", obj)})
	}
	switch o.kind {
	case pyDict:
		if k.kind != pyList && k.kind != pyDict {
			for i, dk := range o.keys {
				if pyEqual(dk, k) {
					return o.vals[i]
				}
			}
		}
	case pyList, pyStr:
		if k.kind == pyInt || k.kind == pyBool {
			jraise(&jinjaUnsupportedError{"indexing a " + pyTypeName(o)})
		}
	}
	if k.kind == pyStr {
		return r.getattr(o, k.s)
	}
	return &jUndef{obj: o, name: k}
}

// truth is Python's bool().
func (r *jinjaRender) truth(v any) bool {
	switch v := v.(type) {
	case *jUndef:
		r.undefinedError(v)
	case *pyVal:
		return v.truthy()
	case jMethod:
		return true
	case jTuple:
		return len(v) > 0
	case jItems:
		return len(v.d.keys) > 0
	}
	return true
}

// str is Python's str(), what {{ }} prints.
func (r *jinjaRender) str(v any) string {
	switch v := v.(type) {
	case *jUndef:
		r.undefinedError(v)
	case *pyVal:
		return v.str()
	}
	jraise(&jinjaUnsupportedError{fmt.Sprintf("printing %T", v)})
	return ""
}

// equal is Python's ==; a StrictUndefined on either side raises.
func (r *jinjaRender) equal(a, b any) bool {
	if u, ok := a.(*jUndef); ok {
		r.undefinedError(u)
	}
	if u, ok := b.(*jUndef); ok {
		r.undefinedError(u)
	}
	pa, aok := a.(*pyVal)
	pb, bok := b.(*pyVal)
	if !aok || !bok {
		jraise(&jinjaUnsupportedError{fmt.Sprintf("comparing %T and %T", a, b)})
	}
	return pyDeepEqual(pa, pb)
}

func pyDeepEqual(a, b *pyVal) bool {
	switch {
	case a.kind == pyList && b.kind == pyList:
		if len(a.list) != len(b.list) {
			return false
		}
		for i := range a.list {
			if !pyDeepEqual(a.list[i], b.list[i]) {
				return false
			}
		}
		return true
	case a.kind == pyDict && b.kind == pyDict:
		if len(a.keys) != len(b.keys) {
			return false
		}
		for i, k := range a.keys {
			found := false
			for j, k2 := range b.keys {
				if pyEqual(k, k2) {
					found = pyDeepEqual(a.vals[i], b.vals[j])
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	case a.kind == pyFloat && b.kind == pyFloat:
		return a.f == b.f
	}
	return pyEqual(a, b)
}

// pyLower is Python's str.lower() where it differs from Go's: U+0130 lowers to "i̇".
func pyLower(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "\u0130", "i\u0307"))
}
