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
// github_token, uaa client_secret, and the storage_service backends' keys (s3 accesskey and
// secretkey, azure accountkey, swift password/secretkey/accesskey, oss accesskeysecret). Paths
// such as secretkey_path or https.private_key (a file name) are not secrets and stay readable.
var secretKey = regexp.MustCompile(`(?i)(password|passwd|pwd|secret|token|secretkey|secret_key|accesskey|access_key|accountkey|account_key|credentials?)$`)

// IsSecretKey reports whether a setting of this name is redacted.
func IsSecretKey(name string) bool { return secretKey.MatchString(strings.Trim(name, `"' `)) }

// inlineKeyfile: the gcs backend's keyfile is normally a path, but the service account JSON
// itself may be pasted in (a {...} value or a | block); that is a secret.
func inlineKeyfile(name, value string) bool {
	if !strings.EqualFold(strings.Trim(name, `"' `), "keyfile") {
		return false
	}
	v := strings.TrimSpace(value)
	return strings.HasPrefix(v, "{") || strings.HasPrefix(v, "|") || strings.HasPrefix(v, ">") || strings.Contains(v, "private_key")
}

// urlPassword is the password of a URL with credentials (a proxy: http://user:pw@host:3128).
var urlPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@'"]*:)([^\s@/'"]+)(@)`)

// redactURLs replaces the password of every URL with credentials in s by ***.
func redactURLs(s string) string { return urlPassword.ReplaceAllString(s, "${1}***${3}") }

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
			k, v := n.Content[i].Value, n.Content[i+1]
			if IsSecretKey(k) || inlineKeyfile(k, v.Value) || v.Kind == yaml.MappingNode && inlineKeyfile(k, "{") {
				redactValue(v)
			}
		}
	}
	if n.Kind == yaml.ScalarNode && n.Value != Redacted {
		n.Value = redactURLs(n.Value)
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
	if v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode {
		*v = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: Redacted, HeadComment: v.HeadComment, LineComment: v.LineComment}
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
		if m := blockLine.FindStringSubmatch(body); m != nil && (IsSecretKey(m[2]) || inlineKeyfile(m[2], m[4])) {
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
		lines[i] = redactURLs(flowPair.ReplaceAllStringFunc(body, func(pair string) string {
			p := flowPair.FindStringSubmatch(pair)
			if !IsSecretKey(p[2]) {
				return pair
			}
			return p[1] + p[2] + p[3] + Redacted
		})) + eol
	}
	return []byte(strings.Join(lines, ""))
}
