package harbor

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Get returns the scalar at path ("database", "password"). ok is false when a key on the way is
// missing or the value is not a scalar; a key present with no value gives ("", true).
func (c *Config) Get(path ...string) (string, bool) {
	n := c.lookup(path)
	if n == nil || n.Kind != yaml.ScalarNode {
		return "", false
	}
	if n.ShortTag() == "!!null" {
		return "", true
	}
	return n.Value, true
}

// Has reports whether the key at path is present, whatever its value (null included).
func (c *Config) Has(path ...string) bool { return c.lookup(path) != nil }

// lookup returns the value node at path, aliases resolved, or nil.
func (c *Config) lookup(path []string) *yaml.Node {
	n := c.root()
	for _, key := range path {
		n = resolve(n)
		if n.Kind != yaml.MappingNode {
			return nil
		}
		_, v := mappingEntry(n, key)
		if v == nil {
			return nil
		}
		n = v
	}
	return resolve(n)
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxConfigDepth; i++ {
		n = n.Alias
	}
	return n
}

// mappingEntry finds key in a mapping node; the last occurrence wins, as in YAML decoders.
func mappingEntry(m *yaml.Node, key string) (k, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			k, v = m.Content[i], m.Content[i+1]
		}
	}
	return k, v
}

// errEditAlias refuses edits through a YAML alias: the change would also show elsewhere.
var errEditAlias = errors.New("the value is shared through a YAML alias; edit the anchor instead")

// Set stores value as the scalar at path, creating missing mappings on the way. An existing
// number or boolean stays one when value still is one; otherwise the value is stored as a
// string, quoted as needed, so any text (shell metacharacters included) round-trips unchanged.
// New keys holding a plain integer or true/false are typed as such (ports, flags).
func (c *Config) Set(value string, path ...string) error {
	if len(path) == 0 {
		return errors.New("setting harbor.yml value: empty key path")
	}
	n := c.root()
	for i, key := range path {
		_, v := mappingEntry(n, key)
		last := i == len(path)-1
		switch {
		case v == nil:
			v = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			if last {
				v = &yaml.Node{Kind: yaml.ScalarNode}
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
		case v.Kind == yaml.AliasNode:
			return fmt.Errorf("setting %s: %w", strings.Join(path, "."), errEditAlias)
		case !last && v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null":
			// "https:" with nothing under it: becomes the mapping we need.
			*v = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", HeadComment: v.HeadComment, LineComment: v.LineComment, FootComment: v.FootComment}
		case !last && v.Kind != yaml.MappingNode:
			return fmt.Errorf("setting %s: %s is not a mapping", strings.Join(path, "."), strings.Join(path[:i+1], "."))
		case last && v.Kind != yaml.ScalarNode:
			return fmt.Errorf("setting %s: the existing value is not a single value", strings.Join(path, "."))
		}
		if last {
			setScalar(v, value)
			return nil
		}
		n = v
	}
	return nil
}

func setScalar(n *yaml.Node, value string) {
	old := n.ShortTag()
	n.Tag = "!!str"
	switch {
	case (old == "!!int" || n.Value == "" && old != "!!str") && isPlainInt(value):
		n.Tag = "!!int"
	case (old == "!!bool" || n.Value == "" && old != "!!str") && (value == "true" || value == "false"):
		n.Tag = "!!bool"
	}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 && !strings.Contains(value, "\n") {
		n.Style = 0
	}
	if n.Tag != "!!str" {
		n.Style &^= yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle
	}
	n.Value = value
}

func isPlainInt(s string) bool {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	_, err := strconv.Atoi(s)
	return err == nil
}
