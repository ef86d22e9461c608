package roles

import (
	"fmt"
	"regexp"
	"strings"
)

// iniConf is the fallback of cfg/utils.py read_conf for a file yaml.safe_load refuses: the text
// behind a "[configuration]" line, read by Python 3's configparser.RawConfigParser (strict,
// `=` and `:` delimiters, `#` and `;` whole-line comments, more-indented lines continuing a
// value, option names lower-cased) and every option of that section as a string. Meant for 1.x
// harbor.cfg, it also "reads" a broken harbor.yml: a flat one then migrates with the 1.10
// template's defaults, one with sections crashes on them (`http.port` of a string).
// (The image's Python 2 ConfigParser is not strict: a repeated option keeps its last value.)
func iniConf(text string) (*pyVal, error) {
	type section struct {
		opts  []string
		vals  map[string][]string
		valid map[string]bool
	}
	newSection := func() *section { return &section{vals: map[string][]string{}, valid: map[string]bool{}} }
	sections := map[string]*section{"configuration": newSection()}
	defaults := newSection()
	seen := map[string]bool{"configuration": true}
	cur, curName, opt := sections["configuration"], "configuration", ""
	indentLevel := 0
	var parseErr error
	text = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(text) // open() in text mode
	lines := strings.SplitAfter(text, "\n")
	for i, raw := range lines {
		line := strings.TrimRight(raw, "\n")
		if raw == "" {
			continue
		}
		lineno := i + 2 // line 1 is the [configuration] read_conf writes first
		stripped := strings.TrimFunc(line, isPySpace)
		comment := strings.HasPrefix(stripped, "#") || strings.HasPrefix(stripped, ";")
		value := stripped
		if comment {
			value = ""
		}
		if value == "" {
			if !comment && cur != nil && opt != "" && cur.valid[opt] {
				cur.vals[opt] = append(cur.vals[opt], "")
			}
			continue
		}
		indent := len(line) - len(strings.TrimLeftFunc(line, isPySpace))
		if cur != nil && opt != "" && indent > indentLevel {
			cur.vals[opt] = append(cur.vals[opt], value)
			continue
		}
		indentLevel = indent
		if m := iniSection.FindStringSubmatch(value); m != nil {
			name := m[1]
			switch {
			case name == "DEFAULT":
				cur = defaults
			case sections[name] != nil:
				if seen[name] {
					return nil, fmt.Errorf("DuplicateSectionError: While reading from '<???>' [line %d]: section '%s' already exists", lineno, name)
				}
				cur = sections[name]
			default:
				sections[name] = newSection()
				cur = sections[name]
			}
			seen[name], curName, opt = true, name, ""
			continue
		}
		m := iniOption.FindStringSubmatch(value)
		if m == nil || strings.TrimRight(m[1], " \t") == "" {
			if parseErr == nil {
				parseErr = fmt.Errorf("ParsingError: Source contains parsing errors: '<???>'\n\t[line %2d]: %s", lineno, pyStrRepr(raw))
			}
			if m == nil {
				continue
			}
		}
		opt = strings.ToLower(strings.TrimRightFunc(m[1], isPySpace))
		key := curName + "\x00" + opt
		if seen[key] {
			return nil, fmt.Errorf("DuplicateOptionError: While reading from '<???>' [line %d]: option '%s' in section '%s' already exists", lineno, opt, curName)
		}
		seen[key] = true
		if _, ok := cur.vals[opt]; !ok {
			cur.opts = append(cur.opts, opt)
		}
		cur.vals[opt] = []string{strings.TrimFunc(m[2], isPySpace)}
		cur.valid[opt] = true
	}
	if parseErr != nil {
		return nil, parseErr
	}
	join := func(v []string) string { return strings.TrimRightFunc(strings.Join(v, "\n"), isPySpace) }
	d := &pyVal{kind: pyDict}
	conf := sections["configuration"]
	for _, o := range conf.opts {
		d.set(&pyVal{kind: pyStr, s: o}, &pyVal{kind: pyStr, s: join(conf.vals[o])})
	}
	for _, o := range defaults.opts { // options() lists the DEFAULT section's too
		if _, ok := conf.vals[o]; !ok {
			d.set(&pyVal{kind: pyStr, s: o}, &pyVal{kind: pyStr, s: join(defaults.vals[o])})
		}
	}
	return d, nil
}

var (
	iniSection = regexp.MustCompile(`^\[(.+)\]`)
	iniOption  = regexp.MustCompile(`^(.*?)\s*(?:=|:)\s*(.*)$`)
)

// iniVersion is utils.get_conf_version for a file without `_version` (a harbor.cfg before 1.5).
func iniVersion(d *pyVal) string {
	has := func(k string) bool { _, ok := d.get(k); return ok }
	switch {
	case !has("clair_db_password"):
		return "unsupported"
	case has("registry_storage_provider_name"):
		return "1.4.0"
	case has("uaa_endpoint"):
		return "1.3.0"
	}
	return "1.2.0"
}

// isPySpace is str.strip()'s white space.
func isPySpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' || r == 0x1c || r == 0x1d || r == 0x1e || r == 0x1f || r == 0x85 || r == 0xa0 || r == 0x1680 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 || r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000
}
