package harbor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Limits on harbor.yml. Real files are about 10 KiB, 5 levels deep, without aliases; anything far
// beyond is not a harbor.yml, and on a host we do not control it may be built to hurt us.
const (
	MaxConfigSize    = 1 << 20 // bytes
	maxConfigDepth   = 64      // nesting levels, aliases followed
	maxConfigAliases = 1000    // alias nodes in the file
	maxConfigNodes   = 100000  // nodes visited when every alias is expanded
)

// Reasons a harbor.yml is refused outright; test with errors.Is.
var (
	ErrConfigTooLarge   = fmt.Errorf("larger than %d bytes", MaxConfigSize)
	ErrConfigTooDeep    = fmt.Errorf("nested deeper than %d levels", maxConfigDepth)
	ErrConfigAliases    = fmt.Errorf("too many YAML aliases (more than %d, or more than %d values once expanded)", maxConfigAliases, maxConfigNodes)
	ErrConfigTooMany    = fmt.Errorf("more than %d values", maxConfigNodes)
	ErrConfigNotMapping = errors.New("not a YAML mapping of settings")
)

// ConfigError is a harbor.yml that cannot be read or is refused.
type ConfigError struct {
	Path string // "" when parsed from bytes
	Err  error
}

func (e *ConfigError) Error() string {
	name := "harbor.yml"
	if e.Path != "" {
		name = e.Path
	}
	return fmt.Sprintf("reading %s: %v; fix the file or point bundle at the right one", name, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// ExitCode makes cmd/bundle exit 2: refused before any change.
func (e *ConfigError) ExitCode() int { return 2 }

// Config is a parsed harbor.yml. It keeps the whole yaml.v3 node tree so that Marshal writes
// the administrator's comments, key order and keys we do not know back unchanged.
type Config struct {
	doc *yaml.Node // DocumentNode whose only child is the root mapping
	// pyTabLine is the first line with a tab PyYAML refuses (0: none): a fact of the text, which
	// the node tree no longer shows.
	pyTabLine int
}

// ReadConfig reads and parses a harbor.yml file.
func ReadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &ConfigError{Path: path, Err: err}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return nil, &ConfigError{Path: path, Err: err}
	}
	c, err := ParseConfig(b)
	if ce, ok := err.(*ConfigError); ok {
		ce.Path = path
	}
	return c, err
}

// ParseConfig parses harbor.yml bytes, refusing oversized, too deep, alias-bomb and non-mapping
// documents with a *ConfigError.
func ParseConfig(b []byte) (*Config, error) {
	if len(b) > MaxConfigSize {
		return nil, &ConfigError{Err: ErrConfigTooLarge}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, &ConfigError{Err: fmt.Errorf("parsing YAML: %s", oneLine(err.Error()))}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &ConfigError{Err: fmt.Errorf("%w: the file is empty", ErrConfigNotMapping)}
	}
	if err := checkShape(&doc); err != nil {
		return nil, &ConfigError{Err: err}
	}
	if doc.Content[0].Kind != yaml.MappingNode {
		return nil, &ConfigError{Err: ErrConfigNotMapping}
	}
	return &Config{doc: &doc, pyTabLine: pyYAMLTab(b)}, nil
}

// checkShape bounds depth, aliases and the size of the tree with aliases expanded, without ever
// expanding them (memoised per node), so a billion-laughs document costs microseconds.
func checkShape(doc *yaml.Node) error {
	type shape struct{ height, size int }
	memo := map[*yaml.Node]shape{}
	aliases := 0
	var walk func(n *yaml.Node, depth int) (shape, error)
	walk = func(n *yaml.Node, depth int) (shape, error) {
		if depth > maxConfigDepth {
			return shape{}, ErrConfigTooDeep
		}
		if s, ok := memo[n]; ok {
			if s.size < 0 {
				return shape{}, ErrConfigAliases // an alias inside its own anchor
			}
			return s, nil
		}
		memo[n] = shape{size: -1}
		children := n.Content
		if n.Kind == yaml.AliasNode {
			if aliases++; aliases > maxConfigAliases {
				return shape{}, ErrConfigAliases
			}
			children = []*yaml.Node{n.Alias}
		}
		s := shape{height: 1, size: 1}
		for _, c := range children {
			if c == nil {
				continue
			}
			cs, err := walk(c, depth+1)
			if err != nil {
				return shape{}, err
			}
			s.height = max(s.height, cs.height+1)
			if s.size += cs.size; s.size > maxConfigNodes && aliases > 0 {
				return shape{}, ErrConfigAliases
			} else if s.size > maxConfigNodes {
				return shape{}, ErrConfigTooMany
			}
		}
		if depth+s.height-1 > maxConfigDepth {
			return shape{}, ErrConfigTooDeep
		}
		memo[n] = s
		return s, nil
	}
	_, err := walk(doc, 0)
	return err
}

func (c *Config) root() *yaml.Node { return c.doc.Content[0] }

// Marshal writes the configuration back as YAML, comments and key order kept (indentation is
// normalised to two spaces).
func (c *Config) Marshal() ([]byte, error) { return marshalNode(c.doc) }

func marshalNode(n *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("encoding harbor.yml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding harbor.yml: %w", err)
	}
	return buf.Bytes(), nil
}

// ConfigVersion is the `_version` line: the config schema ("1.9.0"), not the product version.
func (c *Config) ConfigVersion() string { v, _ := c.Get("_version"); return v }

// Hostname is `hostname`.
func (c *Config) Hostname() string { v, _ := c.Get("hostname"); return v }

// DataVolume is `data_volume`, "" when the file does not set it.
func (c *Config) DataVolume() string { v, _ := c.Get("data_volume"); return v }

// HTTPPort is `http.port`, 0 when absent or not a number.
func (c *Config) HTTPPort() int { p, _ := c.port("http"); return p }

// HTTPSPort is `https.port`; ok is false when https is not configured.
func (c *Config) HTTPSPort() (port int, ok bool) { return c.port("https") }

func (c *Config) port(section string) (int, bool) {
	v, ok := c.Get(section, "port")
	if !ok {
		return 0, false
	}
	p, err := strconv.Atoi(v)
	if err != nil || p <= 0 || p > 65535 {
		return 0, false
	}
	return p, true
}
