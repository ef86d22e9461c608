package roles

import (
	"fmt"
	"strings"
)

// UndefinedError is what the real migrator's jinja templates (StrictUndefined) raise when the
// input harbor.yml lacks a key they read: the "migrator crashes on a harbor.yml missing keys"
// failure real users report. Also a value of the wrong type where the template iterates
// (`for c in proxy.components` over None) or calls `.items()`.
type UndefinedError struct {
	Key string // dotted path, "log.local.rotate_count"
}

func (e *UndefinedError) Error() string {
	return fmt.Sprintf("jinja2.exceptions.UndefinedError: '%s' is undefined", e.Key)
}

// TypeError is a Python TypeError raised while rendering (iterating a number, a non-string
// top-level key passed as a keyword argument).
type TypeError struct{ Msg string }

func (e *TypeError) Error() string { return "TypeError: " + e.Msg }

// renderPanic carries an error out of a template body; render recovers it. Template bodies read
// like the jinja templates they stand for only if no lookup is followed by an error check.
type renderPanic struct{ err error }

// tmpl renders one jinja template over the dict safe_load returned, with jinja's rules as the
// real migrator configures it (StrictUndefined): a key is defined even when its value is None;
// an attribute of a non-dict is undefined; printing, testing or comparing an undefined value
// raises; `x is defined` never does, but reading an attribute OF an undefined value does.
type tmpl struct {
	root *pyVal
	out  strings.Builder
}

// render runs body over root (the keyword arguments of tpl.render(**config_dict)).
func render(root *pyVal, body func(t *tmpl)) (text []byte, err error) {
	if root.kind != pyDict {
		return nil, &TypeError{Msg: "render() argument after ** must be a mapping"}
	}
	for _, k := range root.keys {
		if k.kind != pyStr {
			return nil, &TypeError{Msg: "keywords must be strings"}
		}
		if k.s == "self" { // Template.render(self, *args, **kwargs)
			return nil, &TypeError{Msg: "render() got multiple values for argument 'self'"}
		}
	}
	t := &tmpl{root: root}
	defer func() {
		if r := recover(); r != nil {
			p, ok := r.(renderPanic)
			if !ok {
				panic(r)
			}
			text, err = nil, p.err
		}
	}()
	body(t)
	return []byte(t.out.String()), nil
}

func raise(err error) { panic(renderPanic{err}) }

// line writes one output line; every %s argument is a value already printed by the template.
func (t *tmpl) line(format string, args ...any) {
	fmt.Fprintf(&t.out, format+"\n", args...)
}

// lines writes literal template text (comments, commented-out blocks) as is.
func (t *tmpl) lines(text string) {
	t.out.WriteString(strings.TrimPrefix(text, "\n"))
}

// lookup evaluates a dotted path: nil when the last step is undefined; raises when an earlier
// step is (jinja's getattr on a StrictUndefined).
func (t *tmpl) lookup(path string) *pyVal {
	keys := strings.Split(path, ".")
	cur, ok := t.root.get(keys[0])
	for i := 1; i < len(keys); i++ {
		if !ok {
			raise(&UndefinedError{Key: strings.Join(keys[:i], ".")})
		}
		cur, ok = cur.get(keys[i])
	}
	if !ok {
		return nil
	}
	return cur
}

// defined is jinja's `path is defined`.
func (t *tmpl) defined(path string) bool { return t.lookup(path) != nil }

// must returns the value at path or raises UndefinedError (printing, testing, comparing it).
func (t *tmpl) must(path string) *pyVal {
	v := t.lookup(path)
	if v == nil {
		raise(&UndefinedError{Key: path})
	}
	return v
}

// v is `{{ path }}`.
func (t *tmpl) v(path string) string { return t.must(path).str() }

// vOrEmpty is `{{ v if v is not none else ” }}`.
func vOrEmpty(v *pyVal) string {
	if v.kind == pyNone {
		return ""
	}
	return v.str()
}

// truthy is `{% if path %}`: raises when undefined.
func (t *tmpl) truthy(path string) bool { return t.must(path).truthy() }

// or is `{{ path or def }}`.
func (t *tmpl) or(path, def string) string {
	if v := t.must(path); v.truthy() {
		return v.str()
	}
	return def
}

// items is `path.items()` in a for loop: the dict's pairs in insertion order (Python 3; the
// image's Python 2 iterates in hash order, which changes the order of lines, not the tree).
func (t *tmpl) items(path string) ([]*pyVal, []*pyVal) {
	v := t.must(path)
	if v.kind != pyDict {
		raise(&UndefinedError{Key: path + ".items"})
	}
	return v.keys, v.vals
}

// iterate is `{% for x in path %}`: a list's items, a dict's keys, a string's characters.
func (t *tmpl) iterate(path string) []string {
	v := t.must(path)
	var out []string
	switch v.kind {
	case pyList:
		for _, c := range v.list {
			out = append(out, c.str())
		}
	case pyDict:
		for _, k := range v.keys {
			out = append(out, k.str())
		}
	case pyStr:
		for _, r := range v.s {
			out = append(out, string(r))
		}
	default:
		raise(&TypeError{Msg: fmt.Sprintf("'%s' object is not iterable", pyTypeName(v))})
	}
	return out
}

func pyTypeName(v *pyVal) string {
	return map[pyKind]string{pyNone: "NoneType", pyBool: "bool", pyInt: "int", pyFloat: "float",
		pyStr: "str", pyDate: "datetime.date", pyDatetime: "datetime.datetime", pyList: "list", pyDict: "dict"}[v.kind]
}
