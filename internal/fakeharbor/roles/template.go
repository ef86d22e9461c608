package roles

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// UndefinedError is what the real migrator's jinja templates (StrictUndefined) raise when the
// input harbor.yml lacks a key they read: the "migrator crashes on a harbor.yml missing keys"
// failure real users report.
type UndefinedError struct {
	Key string // dotted path, "log.local.rotate_count"
}

func (e *UndefinedError) Error() string {
	return fmt.Sprintf("jinja2.exceptions.UndefinedError: '%s' is undefined", e.Key)
}

// undefinedPanic carries an UndefinedError out of a template body; render recovers it. Template
// bodies read like the jinja templates they stand for only if every lookup is not followed by an
// error check.
type undefinedPanic struct{ err *UndefinedError }

// tmpl renders one jinja-like template over a parsed harbor.yml: the lookups follow jinja's
// rules (a key is defined even when its value is null; attributes of a non-mapping are
// undefined; using an undefined value raises) and values print as Python's str() prints them.
type tmpl struct {
	root *yaml.Node
	out  strings.Builder
}

// render runs body over the mapping root and returns the text, or the UndefinedError it raised.
func render(root *yaml.Node, body func(t *tmpl)) (text []byte, err error) {
	t := &tmpl{root: root}
	defer func() {
		if r := recover(); r != nil {
			u, ok := r.(undefinedPanic)
			if !ok {
				panic(r)
			}
			text, err = nil, u.err
		}
	}()
	body(t)
	return []byte(t.out.String()), nil
}

// line writes one output line; every %s argument is a value already printed by the template.
func (t *tmpl) line(format string, args ...any) {
	fmt.Fprintf(&t.out, format+"\n", args...)
}

// lines writes literal template text (comments, commented-out blocks) as is.
func (t *tmpl) lines(text string) {
	t.out.WriteString(strings.TrimPrefix(text, "\n"))
}

// lookup follows a dotted path from the root.
func (t *tmpl) lookup(path string) (*yaml.Node, bool) {
	return lookupNode(t.root, path)
}

func lookupNode(n *yaml.Node, path string) (*yaml.Node, bool) {
	for _, key := range strings.Split(path, ".") {
		n = deref(n)
		if n == nil || n.Kind != yaml.MappingNode {
			return nil, false
		}
		var found *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				found = n.Content[i+1] // the last duplicate wins, as in PyYAML
			}
		}
		if found == nil {
			return nil, false
		}
		n = found
	}
	return deref(n), true
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return deref(n.Content[0])
	}
	return n
}

// defined is jinja's `x is defined`: it never raises.
func (t *tmpl) defined(path string) bool {
	_, ok := t.lookup(path)
	return ok
}

// must returns the node at path or raises UndefinedError.
func (t *tmpl) must(path string) *yaml.Node {
	n, ok := t.lookup(path)
	if !ok {
		panic(undefinedPanic{&UndefinedError{Key: path}})
	}
	return n
}

// v is `{{ path }}`.
func (t *tmpl) v(path string) string { return pyStr(t.must(path)) }

// truthy is `{% if path %}`: raises when undefined.
func (t *tmpl) truthy(path string) bool { return pyTruthy(t.must(path)) }

// or is `{{ path or def }}`.
func (t *tmpl) or(path, def string) string {
	n := t.must(path)
	if pyTruthy(n) {
		return pyStr(n)
	}
	return def
}

// items is `path.items()` in a for loop: the mapping's pairs in file order.
func (t *tmpl) items(path string) [][2]*yaml.Node {
	n := t.must(path)
	if n.Kind != yaml.MappingNode {
		panic(undefinedPanic{&UndefinedError{Key: path + ".items"}})
	}
	var pairs [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		pairs = append(pairs, [2]*yaml.Node{n.Content[i], deref(n.Content[i+1])})
	}
	return pairs
}

// pyTruthy is Python's bool() of the value PyYAML would have loaded.
func pyTruthy(n *yaml.Node) bool {
	n = deref(n)
	if n == nil {
		return false
	}
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		return len(n.Content) > 0
	}
	switch n.ShortTag() {
	case "!!null":
		return false
	case "!!bool":
		var b bool
		_ = n.Decode(&b)
		return b
	case "!!int", "!!float":
		var f float64
		if n.Decode(&f) == nil {
			return f != 0
		}
	}
	return n.Value != ""
}

// pyStr is Python's str() of the value PyYAML would have loaded: None, True, 80, 'a' in lists.
func pyStr(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "None"
	}
	switch n.Kind {
	case yaml.SequenceNode:
		parts := make([]string, len(n.Content))
		for i, c := range n.Content {
			parts[i] = pyRepr(c)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case yaml.MappingNode:
		var parts []string
		for i := 0; i+1 < len(n.Content); i += 2 {
			parts = append(parts, pyRepr(n.Content[i])+": "+pyRepr(n.Content[i+1]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	switch n.ShortTag() {
	case "!!null":
		return "None"
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil && b {
			return "True"
		}
		return "False"
	case "!!int":
		var i int64
		if n.Decode(&i) == nil {
			return strconv.FormatInt(i, 10)
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil {
			return pyFloat(f)
		}
	}
	return n.Value
}

// pyRepr is Python's repr(): strings quoted, the rest as str().
func pyRepr(n *yaml.Node) string {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		return "'" + strings.ReplaceAll(n.Value, "'", `\'`) + "'"
	}
	return pyStr(n)
}

func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}
