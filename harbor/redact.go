package harbor

import (
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Redacted is what replaces a secret in anything bundle prints or logs.
const Redacted = "<redacted>"

// secretKey matches setting names that hold secrets in harbor.yml and harbor.cfg:
// harbor_admin_password, database.password, external_*.password, db_password, ldap_search_pwd,
// github_token, storage accesskey/secretkey, uaa_client_secret, ... Paths such as
// secretkey_path or https.private_key (a file name) are not secrets and stay readable.
var secretKey = regexp.MustCompile(`(?i)(password|passwd|pwd|secret|token|secretkey|secret_key|accesskey|access_key|credentials?)$`)

// IsSecretKey reports whether a setting of this name is redacted.
func IsSecretKey(name string) bool { return secretKey.MatchString(strings.Trim(name, `"' `)) }

// Redacted returns the configuration as YAML with every secret value replaced by "<redacted>";
// the Config itself is unchanged.
func (c *Config) Redacted() ([]byte, error) {
	cp := copyNode(c.doc, map[*yaml.Node]*yaml.Node{})
	redactNode(cp, 0)
	return marshalNode(cp)
}

func copyNode(n *yaml.Node, done map[*yaml.Node]*yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if c, ok := done[n]; ok {
		return c
	}
	c := *n
	done[n] = &c
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		c.Content[i] = copyNode(child, done)
	}
	c.Alias = copyNode(n.Alias, done)
	return &c
}

func redactNode(n *yaml.Node, depth int) {
	if n == nil || depth > maxConfigDepth {
		return
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if IsSecretKey(n.Content[i].Value) {
				redactValue(n.Content[i+1])
			}
		}
	}
	for _, child := range n.Content {
		redactNode(child, depth+1)
	}
}

// redactValue blanks a secret value; through an alias it blanks the anchored value too, since
// that is where the secret text is.
func redactValue(v *yaml.Node) {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		redactValue(v.Alias)
		return
	}
	if v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" || v.Value == "" {
		return
	}
	v.Value, v.Tag, v.Style = Redacted, "!!str", 0
}

var (
	// blockLine is "key: value" (YAML), "key = value" (harbor.cfg) or "- key: value".
	blockLine = regexp.MustCompile(`^(\s*(?:-\s+)?["']?)([\w.-]+)(["']?\s*[:=])(.*)$`)
	// flowPair is one "key: value" inside {...}.
	flowPair = regexp.MustCompile(`([{,]\s*["']?)([\w.-]+)(["']?\s*:\s*)("[^"]*"|'[^']*'|[^,}\s][^,}]*)`)
)

// Redact replaces secret values in YAML or key=value text (harbor.yml, harbor.cfg, or a log
// quoting them) by "<redacted>", line by line, without parsing: it works on broken files too
// and leaves everything else byte for byte as it was.
func Redact(b []byte) []byte {
	lines := strings.SplitAfter(string(b), "\n")
	blockIndent := -1 // inside a secret's | or > block scalar: lines indented deeper than this
	for i, line := range lines {
		body := strings.TrimRight(line, "\r\n")
		eol := line[len(body):]
		indent := len(body) - len(strings.TrimLeft(body, " \t"))
		if blockIndent >= 0 {
			if strings.TrimSpace(body) == "" || indent > blockIndent {
				if strings.TrimSpace(body) != "" {
					lines[i] = body[:indent] + Redacted + eol
				}
				continue
			}
			blockIndent = -1
		}
		if m := blockLine.FindStringSubmatch(body); m != nil && IsSecretKey(m[2]) {
			value := strings.TrimSpace(m[4])
			switch {
			case value == "" || strings.HasPrefix(value, "#"):
			case strings.HasPrefix(value, "|") || strings.HasPrefix(value, ">"):
				blockIndent = indent
			default:
				lines[i] = m[1] + m[2] + m[3] + " " + Redacted + eol
				continue
			}
		}
		lines[i] = flowPair.ReplaceAllStringFunc(body, func(pair string) string {
			p := flowPair.FindStringSubmatch(pair)
			if !IsSecretKey(p[2]) {
				return pair
			}
			return p[1] + p[2] + p[3] + Redacted
		}) + eol
	}
	return []byte(strings.Join(lines, ""))
}
