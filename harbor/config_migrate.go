package harbor

import (
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// How a template of the 1.10 harbor-migrator uses a value (tools/migration/cfg/migrator_1_*/
// harbor.yml.jinja, rendered with StrictUndefined: any read of a missing key or of an attribute
// of None crashes the step, and the migrator exits 102).
type valueUse int

const (
	writtenVerbatim valueUse = iota // `{{ x }}`: copied as text, unquoted; None becomes the text "None"
	writtenOrEmpty                  // `{{ x or '' }}`, `{{ x if x is not none else '' }}`: None becomes empty
	testedOnly                      // compared or used as a condition, never written
)

// tmplKey is one key a template reads and how. The default is a key read unconditionally.
type tmplKey struct {
	key string
	// definedGuard: every read sits under `{% if key is defined %}`: the key may be absent, but
	// once present (null included) what is under it is read.
	definedGuard bool
	// truthGuard: `{% if key %}`: the key must exist (StrictUndefined refuses to test a missing
	// one); what is under it is read only when it is truthy.
	truthGuard bool
	// readWhenTruthy: read only when one of these sibling keys is truthy (jinja `or` short-circuits).
	readWhenTruthy []string
	use            valueUse
	fields         []tmplKey // non-nil: a mapping whose fields are read
	storage        bool      // storage_service: `for key, value in storage_service.items()`
	list           bool      // `for x in key`: a sequence whose items are written
}

func (k tmplKey) mapping() bool { return k.fields != nil }

func required(key string, use valueUse) tmplKey { return tmplKey{key: key, use: use} }
func section(key string, fields ...tmplKey) tmplKey {
	return tmplKey{key: key, definedGuard: true, fields: fields}
}
func texts(keys ...string) []tmplKey {
	out := make([]tmplKey, len(keys))
	for i, k := range keys {
		out[i] = required(k, writtenVerbatim)
	}
	return out
}

func dbBlock(name string, extra ...string) tmplKey {
	return tmplKey{key: name, fields: texts(append([]string{"host", "port", "db_name", "username", "password", "ssl_mode"}, extra...)...)}
}

// migratorTemplates: what each step of the 1.10 harbor-migrator reads, keyed by the _version
// it accepts. Transcribed from the real templates; TestMigratorTemplatesRead checks it against
// every variable the real files read, both ways, so a change upstream fails the test.
var migratorTemplates = map[string]struct {
	to, template string // the _version it writes; its template under cfg/
	keys         []tmplKey
}{
	"1.8.0": {to: "1.9.0", template: "migrator_1_9_0/harbor.yml.jinja", keys: []tmplKey{
		required("hostname", writtenVerbatim),
		{key: "http", truthGuard: true, fields: texts("port")},
		section("https", texts("port", "certificate", "private_key")...),
		{key: "external_url", definedGuard: true},
		{key: "harbor_admin_password", definedGuard: true},
		section("database", texts("password")...),
		{key: "data_volume", definedGuard: true},
		{key: "storage_service", definedGuard: true, storage: true},
		section("clair", required("updaters_interval", writtenVerbatim),
			required("http_proxy", writtenOrEmpty), required("https_proxy", writtenOrEmpty),
			tmplKey{key: "no_proxy", use: writtenOrEmpty, readWhenTruthy: []string{"http_proxy", "https_proxy"}}),
		section("jobservice", texts("max_job_workers")...),
		section("chart", required("absolute_url", testedOnly)),
		{key: "log", fields: texts("level", "rotate_count", "rotate_size", "location")},
		section("external_database", dbBlock("harbor"), dbBlock("clair"), dbBlock("notary_signer"), dbBlock("notary_server")),
		section("external_redis", texts("host", "port", "password", "registry_db_index", "jobservice_db_index", "chartmuseum_db_index")...),
		section("uaa", texts("ca_file")...),
	}},
	"1.9.0": {to: "1.10.0", template: "migrator_1_10_0/harbor.yml.jinja", keys: []tmplKey{
		required("hostname", writtenVerbatim),
		section("http", texts("port")...),
		section("https", texts("port", "certificate", "private_key")...),
		{key: "external_url", definedGuard: true},
		{key: "harbor_admin_password", definedGuard: true},
		section("database", required("password", writtenVerbatim), required("max_idle_conns", writtenOrEmpty), required("max_open_conns", writtenOrEmpty)),
		{key: "data_volume", definedGuard: true},
		{key: "storage_service", definedGuard: true, storage: true},
		section("clair", texts("updaters_interval")...),
		section("jobservice", texts("max_job_workers")...),
		section("notification", texts("webhook_job_max_retry")...),
		section("chart", required("absolute_url", testedOnly)),
		section("log", required("level", writtenVerbatim),
			tmplKey{key: "local", fields: texts("rotate_count", "rotate_size", "location")},
			section("external_endpoint", texts("protocol", "host", "port")...)),
		section("external_database", dbBlock("harbor", "max_idle_conns", "max_open_conns"), dbBlock("clair"), dbBlock("notary_signer"), dbBlock("notary_server")),
		section("external_redis", texts("host", "port", "password", "registry_db_index", "jobservice_db_index", "chartmuseum_db_index")...),
		section("uaa", texts("ca_file")...),
		section("proxy", required("http_proxy", writtenOrEmpty), required("https_proxy", writtenOrEmpty), required("no_proxy", writtenOrEmpty),
			tmplKey{key: "components", definedGuard: true, list: true}),
	}},
}

// renamed1_9: where the 1.9.0 template moves a 1.8.0 value (the 1.10.0 template keeps 1.9 paths).
var renamed1_9 = map[string]string{
	"log.rotate_count": "log.local.rotate_count", "log.rotate_size": "log.local.rotate_size", "log.location": "log.local.location",
	"clair.http_proxy": "proxy.http_proxy", "clair.https_proxy": "proxy.https_proxy", "clair.no_proxy": "proxy.no_proxy",
}

// migratorChain is the steps from config schema from to target, nil when the 1.10 migrator
// has no such chain (cfg/run.py `search`).
func migratorChain(from, target string) []string {
	var chain []string
	for v := from; v != target; v = migratorTemplates[v].to {
		if _, ok := migratorTemplates[v]; !ok {
			return nil
		}
		chain = append(chain, v)
	}
	return chain
}

// CheckForMigrator checks, before anything is stopped, that the migration of harbor.yml to the
// config schema target ("1.10.0", a release's ConfigVersion) will succeed, by the rules of
// Harbor's real code (see migratorTemplates): nil when the real migrator migrates the file (or
// nothing needs migrating), else a *MigrationInputError naming each key and its fix. A file is
// also refused when the migrated result would not be usable: a value the image's Python 2
// cannot write (non-ASCII), or one that, written unquoted, is no longer YAML.
func (c *Config) CheckForMigrator(target string) error {
	from := c.ConfigVersion()
	e := &MigrationInputError{From: from, To: strings.TrimPrefix(target, "v")}
	fv, err := ParseVersion(from)
	if err != nil {
		e.Reason = "it has no readable _version line (Harbor 1.8 and later write one; 1.7 and older use harbor.cfg)"
		return e
	}
	tv, err := ParseVersion(target)
	if err != nil {
		e.Reason = err.Error()
		return e
	}
	if c.pyTabLine > 0 {
		// Whatever the versions: prepare reads harbor.yml with PyYAML on every install.sh run.
		e.Problems = append(e.Problems, tabProblem(c.pyTabLine))
	}
	switch {
	case fv == tv:
		return e.orNil()
	case fv.Compare(tv) > 0:
		e.Reason = "it is newer than the target; Harbor does not migrate configurations back"
		return e
	case tv.Major >= 2:
		if fv.Compare(Version{1, 9, 0}) < 0 {
			e.Reason = "Harbor 2.x's prepare migrate refuses _version older than 1.9.0; upgrade to v1.10.x first"
			return e
		}
		if !c.Has("hostname") {
			e.Problems = append(e.Problems, "harbor.yml: hostname is missing; add hostname: <this registry's name>")
		}
		return e.orNil()
	}
	chain := migratorChain(fv.String()[1:], e.To)
	if chain == nil {
		e.Reason = "no harbor-migrator step starts from this _version"
		return e
	}
	first := migratorTemplates[chain[0]]
	chk := &templateCheck{from: chain[0], chained: len(chain) > 1}
	chk.fields(c.root(), "", first.keys)
	e.Problems = append(e.Problems, chk.problems...)
	return e.orNil()
}

// templateCheck walks the keys a template reads over a harbor.yml and collects one line per
// problem the real step would hit.
type templateCheck struct {
	from     string // _version of the file
	chained  bool   // the step's output is read again by the next step (1.8.0 -> 1.10.0)
	problems []string
}

func (t *templateCheck) addf(format string, args ...any) {
	t.problems = append(t.problems, "harbor.yml: "+fmt.Sprintf(format, args...))
}

func (t *templateCheck) fields(m *yaml.Node, prefix string, keys []tmplKey) {
	var missing []string
	defer func() {
		switch len(missing) {
		case 0:
		case 1:
			t.addf("%s is missing; the migrator reads it: add it as in the default harbor.yml of %s", missing[0], t.from)
		default:
			t.addf("%s are missing; the migrator reads them: add them as in the default harbor.yml of %s", strings.Join(missing, ", "), t.from)
		}
	}()
	for _, k := range keys {
		path := prefix + k.key
		v := resolve(mappingValue(m, k.key))
		if v == nil {
			if k.definedGuard || (k.readWhenTruthy != nil && !anyTruthy(m, k.readWhenTruthy)) {
				continue
			}
			missing = append(missing, path)
			continue
		}
		if k.readWhenTruthy != nil && !anyTruthy(m, k.readWhenTruthy) {
			continue
		}
		if k.truthGuard && !truthy(v) {
			continue
		}
		switch {
		case k.mapping():
			if t.needMapping(v, path, keyNames(k.fields)) {
				t.fields(v, path+".", k.fields)
			}
		case k.storage:
			t.storageService(v, path)
		case k.list:
			if v.Kind != yaml.SequenceNode {
				t.addf("%s is %s, not a list; list the components (core, jobservice, clair) or remove the %s: line", path, describeNode(v), k.key)
				continue
			}
			for _, item := range v.Content {
				t.written(resolve(item), path)
			}
		case k.use != testedOnly:
			t.written(v, path)
		}
	}
}

// needMapping: v must be a mapping, since the template reads fields of it.
func (t *templateCheck) needMapping(v *yaml.Node, path string, fields []string) bool {
	if v.Kind == yaml.MappingNode {
		return true
	}
	last := path[strings.LastIndex(path, ".")+1:]
	if isNull(v) {
		t.addf("%s is empty (null); set %s under it or remove the %s: line", path, strings.Join(prefixed(path, fields), ", "), last)
	} else {
		t.addf("%s is %s, not a mapping; set %s under it or remove the %s: line", path, describeNode(v), strings.Join(prefixed(path, fields), ", "), last)
	}
	return false
}

// storageService mirrors `{% for key, value in storage_service.items() %}`: ca_bundle is
// written, redirect must hold disabled, every other key is a backend whose settings are written.
func (t *templateCheck) storageService(v *yaml.Node, path string) {
	if v.Kind != yaml.MappingNode {
		t.addf("%s is %s, not a mapping; set a backend under it (filesystem, s3, ...) or remove the storage_service: line", path, describeNode(v))
		return
	}
	if t.chained && len(v.Content) == 0 {
		t.addf("%s is an empty mapping, which the 1.9.0 step writes as null and the 1.10.0 step then cannot read; remove it or set a backend", path)
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		key, val := v.Content[i].Value, resolve(v.Content[i+1])
		if val == nil {
			continue
		}
		p := path + "." + key
		switch key {
		case "ca_bundle":
			t.written(val, p)
		case "redirect":
			if t.needRedirect(val, p) {
				t.fields(val, p+".", texts("disabled"))
			}
		default:
			t.written(v.Content[i], p) // the backend's name is written too
			if val.Kind != yaml.MappingNode {
				t.addf("%s is %s, not a mapping of settings; set its settings or remove the %s: line", p, describeNode(val), key)
				continue
			}
			if t.chained && len(val.Content) == 0 {
				t.addf("%s is an empty mapping, which the 1.9.0 step writes as null and the 1.10.0 step then cannot read; set its settings or remove it", p)
			}
			for j := 0; j+1 < len(val.Content); j += 2 {
				t.written(val.Content[j], p+"."+val.Content[j].Value)
				t.written(resolve(val.Content[j+1]), p+"."+val.Content[j].Value)
			}
		}
	}
}

func (t *templateCheck) needRedirect(v *yaml.Node, path string) bool {
	if v.Kind == yaml.MappingNode {
		return true
	}
	if isNull(v) {
		t.addf("%s is empty (null); set %s.disabled: false or remove the redirect: line", path, path)
	} else {
		t.addf("%s is %s, not a mapping; set %s.disabled: false or remove the redirect: line", path, describeNode(v), path)
	}
	return false
}

// written checks a value the template copies into the output as text.
func (t *templateCheck) written(v *yaml.Node, path string) {
	if v == nil || v.Kind != yaml.ScalarNode {
		return
	}
	if !isASCII(v.Value) {
		t.addf("%s holds non-ASCII text, which the 1.10 migrator (Python 2) cannot write; change it to ASCII before upgrading (and back afterwards if you must)", path)
		return
	}
	if why := unquotedBreaks(v); why != "" {
		t.addf("%s %s; the migrator writes it unquoted, so the migrated file would not be YAML: change the value before upgrading", path, why)
	}
}

// unquotedBreaks says why a string value, written unquoted after `key: ` as the templates do,
// would not read back as YAML (PyYAML's grammar, which the next step and prepare use); "" when
// it does (it may still read back changed; FixMigrated restores those).
func unquotedBreaks(v *yaml.Node) string {
	s := v.Value
	if pyScalar(v).kind != "str" {
		return "" // numbers, booleans and null come out as Python writes them: plain YAML
	}
	switch {
	case strings.ContainsAny(s, "\n\r"):
		return "spans several lines"
	case strings.HasPrefix(s, "!"):
		return "starts with '!' (a YAML tag)"
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("k: "+s+"\n"), &doc); err != nil {
		return "is not valid as a plain YAML value (" + oneLine(strings.TrimPrefix(err.Error(), "yaml: ")) + ")"
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode || len(doc.Content[0].Content) != 2 {
		return "is not valid as a plain YAML value"
	}
	return ""
}

// FixMigrated restores, in the migrated harbor.yml, the values the real migrator changed while
// copying them: it writes them unquoted, so an empty value becomes the text None (an empty
// external_redis.password then makes Harbor fail to authenticate to Redis), 'yes' becomes a
// boolean, '007' the number 7, 'a #b' the text a. Every value the templates copy verbatim is
// compared, as PyYAML reads it, with the old file's and put back as it was; comments and
// everything else stay. fixes names each restored key (never the value).
func FixMigrated(old, migrated *Config) (fixes []string, err error) {
	chain := migratorChain(old.ConfigVersion(), migrated.ConfigVersion())
	if len(chain) == 0 {
		return nil, nil
	}
	for _, p := range copiedPaths(old, chain[0]) {
		newPath := p
		if chain[0] == "1.8.0" && renamed1_9[p] != "" {
			newPath = renamed1_9[p]
			if strings.HasPrefix(p, "clair.") && !anyTruthy(old.lookup([]string{"clair"}), []string{"http_proxy", "https_proxy"}) {
				continue // the 1.9.0 step writes Harbor's default proxy block instead
			}
		}
		was, now := old.lookup(strings.Split(p, ".")), migrated.lookup(strings.Split(newPath, "."))
		if was == nil || now == nil || was.Kind != yaml.ScalarNode || now.Kind == yaml.ScalarNode && pyScalar(was) == pyScalar(now) {
			continue
		}
		wrote := "a changed value"
		switch {
		case now.Kind != yaml.ScalarNode:
			wrote = "text that reads as a " + strings.TrimPrefix(describeNode(now), "a ")
			// '{abc}' written unquoted became a mapping: put a scalar in its place.
			*now = yaml.Node{Kind: yaml.ScalarNode, HeadComment: now.HeadComment, LineComment: now.LineComment, FootComment: now.FootComment}
		case now.Value == "None" && pyScalar(was).kind == "null":
			wrote = "the text None"
		}
		// The old node as it was written (quotes included) reads back as it did in the old file.
		now.Value, now.Tag, now.Style = was.Value, was.Tag, was.Style
		fixes = append(fixes, fmt.Sprintf("%s: the migrator wrote %s; restored the value of the old harbor.yml", newPath, wrote))
	}
	return fixes, nil
}

// copiedPaths lists the keys of c whose values the template for _version from copies verbatim
// into its output (c's paths; see renamed1_9 for where the 1.9.0 step puts them).
func copiedPaths(c *Config, from string) []string {
	var walk func(m *yaml.Node, prefix string, keys []tmplKey)
	var copied []string
	walk = func(m *yaml.Node, prefix string, keys []tmplKey) {
		if m == nil || m.Kind != yaml.MappingNode {
			return
		}
		for _, k := range keys {
			v := resolve(mappingValue(m, k.key))
			switch {
			case v == nil:
			case k.mapping():
				walk(v, prefix+k.key+".", k.fields)
			case k.storage && v.Kind == yaml.MappingNode:
				for i := 0; i+1 < len(v.Content); i += 2 {
					backend := resolve(v.Content[i+1])
					if backend == nil || backend.Kind != yaml.MappingNode {
						copied = append(copied, prefix+k.key+"."+v.Content[i].Value)
						continue
					}
					for j := 0; j+1 < len(backend.Content); j += 2 {
						copied = append(copied, prefix+k.key+"."+v.Content[i].Value+"."+backend.Content[j].Value)
					}
				}
			case !k.list && k.use != testedOnly && v.Kind == yaml.ScalarNode:
				copied = append(copied, prefix+k.key)
			}
		}
	}
	walk(c.root(), "", migratorTemplates[from].keys)
	return copied
}

// pyValue is a scalar as PyYAML (YAML 1.1, what Harbor's Python reads with) loads it.
type pyValue struct{ kind, text string }

func pyScalar(n *yaml.Node) pyValue {
	if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return pyValue{"str", n.Value}
	}
	if n.Tag != "" && n.Tag != "!" && !strings.HasPrefix(n.Tag, "!!") {
		return pyValue{"tag", n.Tag + " " + n.Value}
	}
	if n.Tag == "!!str" && n.Style&yaml.TaggedStyle != 0 {
		return pyValue{"str", n.Value}
	}
	return pyPlain(n.Value)
}

var (
	py11Int   = regexp.MustCompile(`^[-+]?(0b[01_]+|0x[0-9a-fA-F_]+|0[0-7_]+|0|[1-9][0-9_]*)$`)
	py11Sexa  = regexp.MustCompile(`^[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+$`)
	py11Float = regexp.MustCompile(`^([-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$`)
)

// pyPlain resolves a plain scalar as PyYAML's resolver does (yaml/resolver.py, YAML 1.1).
func pyPlain(s string) pyValue {
	switch s {
	case "", "~", "null", "Null", "NULL":
		return pyValue{"null", ""}
	case "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON":
		return pyValue{"bool", "true"}
	case "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF":
		return pyValue{"bool", "false"}
	}
	if py11Int.MatchString(s) || py11Sexa.MatchString(s) {
		if n, ok := pyInt(s); ok {
			return pyValue{"int", n.String()}
		}
	}
	if py11Float.MatchString(s) {
		return pyValue{"float", strings.ToLower(strings.ReplaceAll(s, "_", ""))}
	}
	return pyValue{"str", s}
}

// pyInt is yaml/constructor.py construct_yaml_int: 0b, 0x, leading-0 octal, base 60.
func pyInt(s string) (*big.Int, bool) {
	s = strings.ReplaceAll(s, "_", "")
	sign := ""
	if s != "" && (s[0] == '-' || s[0] == '+') {
		if s[0] == '-' {
			sign = "-"
		}
		s = s[1:]
	}
	n := new(big.Int)
	var ok bool
	switch {
	case s == "0":
		return n, true
	case strings.HasPrefix(s, "0b"):
		_, ok = n.SetString(sign+s[2:], 2)
	case strings.HasPrefix(s, "0x"):
		_, ok = n.SetString(sign+s[2:], 16)
	case strings.HasPrefix(s, "0"):
		_, ok = n.SetString(sign+s[1:], 8)
	case strings.Contains(s, ":"):
		ok = true
		for _, part := range strings.Split(s, ":") {
			d, good := new(big.Int).SetString(part, 10)
			ok = ok && good
			if good {
				n.Mul(n, big.NewInt(60)).Add(n, d)
			}
		}
		if sign == "-" {
			n.Neg(n)
		}
	default:
		_, ok = n.SetString(sign+s, 10)
	}
	return n, ok
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m = resolve(m); m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	_, v := mappingEntry(m, key)
	return v
}

// truthy is Python's truth value of what PyYAML loads.
func truthy(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		return len(n.Content) > 0
	case yaml.ScalarNode:
		v := pyScalar(n)
		return !(v.kind == "null" || v.kind == "bool" && v.text == "false" || v.kind == "int" && v.text == "0" ||
			v.kind == "str" && v.text == "" || v.kind == "float" && strings.Trim(v.text, "+-0.") == "")
	}
	return true
}

func anyTruthy(m *yaml.Node, keys []string) bool {
	for _, k := range keys {
		if v := resolve(mappingValue(m, k)); v != nil && truthy(v) {
			return true
		}
	}
	return false
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && pyScalar(n).kind == "null" }

func describeNode(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case isNull(n):
		return "empty (null)"
	}
	return "a single value"
}

func keyNames(keys []tmplKey) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if !k.definedGuard && k.readWhenTruthy == nil {
			out = append(out, k.key)
		}
	}
	return out
}

func prefixed(path string, keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = path + "." + k
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// MigrationInputError is a harbor.yml the migration to the target schema cannot take.
type MigrationInputError struct {
	From, To string   // _version of the file, target _version
	Problems []string // one line each: the key, what is wrong, the fix
	Reason   string   // set when the file as a whole cannot be migrated
}

func (e *MigrationInputError) orNil() error {
	if len(e.Problems) == 0 && e.Reason == "" {
		return nil
	}
	return e
}

func (e *MigrationInputError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("harbor.yml (_version %q) cannot be migrated to %s: %s", e.From, e.To, e.Reason)
	}
	return strings.Join(e.Problems, "; ")
}

// ExitCode makes cmd/bundle exit 2: refused before any change.
func (e *MigrationInputError) ExitCode() int { return 2 }
