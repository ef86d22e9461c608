package roles

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// The real migrator reads harbor.yml with PyYAML's safe_load (YAML 1.1) and prints values with
// Python's str(). yaml.v3 is YAML 1.2, so this file turns yaml.v3's node tree into the values
// PyYAML would have built (`yes` is True, `010` is 8, `1e3` is a string, `2019-12-13` a date)
// and prints them as Python does. Imitates PyYAML's resolver.py and constructor.py
// (SafeConstructor) and CPython's str()/repr() of those types.

type pyKind int

const (
	pyNone pyKind = iota
	pyBool
	pyInt
	pyFloat
	pyStr
	pyDate     // datetime.date
	pyDatetime // datetime.datetime; s holds str() of it
	pyList
	pyDict
)

// pyVal is one Python value as safe_load returns it.
type pyVal struct {
	kind    pyKind
	b       bool
	i       *big.Int
	f       float64
	s       string // pyStr; pyDate/pyDatetime: str() of it
	y, m, d int    // pyDate
	list    []*pyVal
	keys    []*pyVal // pyDict, in insertion order (a duplicate key keeps its first place, last value)
	vals    []*pyVal
}

// LoadError is a file safe_load refuses with a yaml.YAMLError (scanner, parser, composer or
// constructor error): the real read_conf then reads the file as INI (see iniConf).
type LoadError struct{ Err error }

func (e *LoadError) Error() string { return "yaml: " + e.Err.Error() }
func (e *LoadError) Unwrap() error { return e.Err }

// ValueError is a scalar safe_load's constructors raise on (`!!int abc`, `2019-02-30`): not a
// YAMLError, so read_conf does not catch it and the migrator crashes.
type ValueError struct{ Err error }

func (e *ValueError) Error() string { return e.Err.Error() }

// pyLoad is yaml.safe_load(data): nil (None) for an empty stream.
func pyLoad(data []byte) (*pyVal, error) {
	if err := pyTabError(string(data)); err != nil {
		return nil, &LoadError{err}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &pyVal{kind: pyNone}, nil
		}
		return nil, &LoadError{err}
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, &LoadError{errors.New("expected a single document in the stream")}
	}
	return construct(&doc, 0)
}

func construct(n *yaml.Node, depth int) (*pyVal, error) {
	if depth > 200 {
		return nil, &LoadError{errors.New("structure too deep")}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return &pyVal{kind: pyNone}, nil
		}
		return construct(n.Content[0], depth+1)
	case yaml.AliasNode:
		return construct(n.Alias, depth+1)
	case yaml.SequenceNode:
		if tag := explicitTag(n); tag != "" && tag != "!!seq" {
			return nil, &LoadError{fmt.Errorf("could not determine a constructor for the tag %s", n.Tag)}
		}
		v := &pyVal{kind: pyList}
		for _, c := range n.Content {
			cv, err := construct(c, depth+1)
			if err != nil {
				return nil, err
			}
			v.list = append(v.list, cv)
		}
		return v, nil
	case yaml.MappingNode:
		if tag := explicitTag(n); tag != "" && tag != "!!map" {
			return nil, &LoadError{fmt.Errorf("could not determine a constructor for the tag %s", n.Tag)}
		}
		pairs, err := flattenMapping(n, depth)
		if err != nil {
			return nil, err
		}
		v := &pyVal{kind: pyDict}
		for _, p := range pairs {
			k, err := construct(p[0], depth+1)
			if err != nil {
				return nil, err
			}
			if k.kind == pyList || k.kind == pyDict {
				return nil, &LoadError{errors.New("found unhashable key")}
			}
			val, err := construct(p[1], depth+1)
			if err != nil {
				return nil, err
			}
			v.set(k, val)
		}
		return v, nil
	}
	return constructScalar(n)
}

// flattenMapping is SafeConstructor.flatten_mapping: `<<` merges go first (the first of a list
// of merges winning), then the mapping's own pairs, later pairs overriding earlier ones.
func flattenMapping(n *yaml.Node, depth int) ([][2]*yaml.Node, error) {
	var merge, own [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Style&(yaml.TaggedStyle|yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 && k.Value == "<<" {
			sub := deref(v)
			var subs []*yaml.Node
			switch {
			case sub.Kind == yaml.MappingNode:
				subs = []*yaml.Node{sub}
			case sub.Kind == yaml.SequenceNode:
				for _, s := range sub.Content {
					if s = deref(s); s.Kind != yaml.MappingNode {
						return nil, &LoadError{errors.New("expected a mapping for merging")}
					}
					subs = append(subs, s)
				}
			default:
				return nil, &LoadError{errors.New("expected a mapping or list of mappings for merging")}
			}
			for j := len(subs) - 1; j >= 0; j-- {
				if depth > 200 {
					return nil, &LoadError{errors.New("structure too deep")}
				}
				p, err := flattenMapping(subs[j], depth+1)
				if err != nil {
					return nil, err
				}
				merge = append(merge, p...)
			}
			continue
		}
		own = append(own, [2]*yaml.Node{k, v})
	}
	return append(merge, own...), nil
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// explicitTag is the tag written in the file ("!!int"), "" when the resolver decides.
func explicitTag(n *yaml.Node) string {
	if n.Style&yaml.TaggedStyle == 0 {
		return ""
	}
	return n.ShortTag()
}

// The implicit resolvers of PyYAML's Resolver (YAML 1.1), applied to plain scalars only.
var (
	reBool  = regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	reFloat = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
	reInt   = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	reNull  = regexp.MustCompile(`^(?:~|null|Null|NULL|)$`)
	reTime  = regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`)
	reValue = regexp.MustCompile(`^(?:=)$`)
	reMerge = regexp.MustCompile(`^(?:<<)$`)
)

func constructScalar(n *yaml.Node) (*pyVal, error) {
	tag := explicitTag(n)
	if tag == "" {
		plain := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
		tag = "!!str"
		if plain {
			tag = resolvePlain(n.Value)
		}
	}
	return constructTagged(tag, n.Value)
}

func resolvePlain(s string) string {
	switch {
	case reBool.MatchString(s):
		return "!!bool"
	case reFloat.MatchString(s):
		return "!!float"
	case reInt.MatchString(s):
		return "!!int"
	case reNull.MatchString(s):
		return "!!null"
	case reTime.MatchString(s):
		return "!!timestamp"
	case reValue.MatchString(s):
		return "!!value"
	case reMerge.MatchString(s):
		return "!!merge" // only a mapping key merges; anywhere else safe_load cannot construct it
	}
	return "!!str"
}

func constructTagged(tag, s string) (*pyVal, error) {
	switch tag {
	case "!!str", "!":
		return &pyVal{kind: pyStr, s: s}, nil
	case "!!null":
		return &pyVal{kind: pyNone}, nil
	case "!!bool":
		switch strings.ToLower(s) {
		case "yes", "true", "on":
			return &pyVal{kind: pyBool, b: true}, nil
		case "no", "false", "off":
			return &pyVal{kind: pyBool, b: false}, nil
		}
		return nil, &ValueError{fmt.Errorf("KeyError: %q", strings.ToLower(s))}
	case "!!int":
		i, err := pyParseInt(s)
		if err != nil {
			return nil, &ValueError{err}
		}
		return &pyVal{kind: pyInt, i: i}, nil
	case "!!float":
		f, err := pyParseFloat(s)
		if err != nil {
			return nil, &ValueError{err}
		}
		return &pyVal{kind: pyFloat, f: f}, nil
	case "!!timestamp":
		v, err := pyParseTimestamp(s)
		if err != nil {
			return nil, &ValueError{err}
		}
		return v, nil
	}
	return nil, &LoadError{fmt.Errorf("could not determine a constructor for the tag %s", tag)}
}

// pyParseInt is SafeConstructor.construct_yaml_int.
func pyParseInt(s string) (*big.Int, error) {
	v := strings.ReplaceAll(s, "_", "")
	bad := fmt.Errorf("ValueError: invalid literal for int(): %q", s)
	if v == "" {
		return nil, bad
	}
	sign := int64(1)
	if v[0] == '-' {
		sign = -1
	}
	if v[0] == '-' || v[0] == '+' {
		v = v[1:]
	}
	parse := func(digits string, base int) (*big.Int, error) {
		if digits == "" || strings.ContainsAny(digits, "+-") {
			return nil, bad
		}
		i, ok := new(big.Int).SetString(digits, base)
		if !ok {
			return nil, bad
		}
		return i.Mul(i, big.NewInt(sign)), nil
	}
	switch {
	case v == "0":
		return big.NewInt(0), nil
	case strings.HasPrefix(v, "0b"):
		return parse(v[2:], 2)
	case strings.HasPrefix(v, "0x"):
		return parse(v[2:], 16)
	case strings.HasPrefix(v, "0"):
		return parse(v, 8)
	case strings.Contains(v, ":"):
		total, base := new(big.Int), big.NewInt(1)
		parts := strings.Split(v, ":")
		for i := len(parts) - 1; i >= 0; i-- {
			d, ok := new(big.Int).SetString(parts[i], 10)
			if !ok || strings.ContainsAny(parts[i], "+-") {
				return nil, bad
			}
			total.Add(total, d.Mul(d, base))
			base = new(big.Int).Mul(base, big.NewInt(60))
		}
		return total.Mul(total, big.NewInt(sign)), nil
	}
	return parse(v, 10)
}

// pyParseFloat is SafeConstructor.construct_yaml_float.
func pyParseFloat(s string) (float64, error) {
	v := strings.ToLower(strings.ReplaceAll(s, "_", ""))
	bad := fmt.Errorf("ValueError: could not convert string to float: %q", s)
	if v == "" {
		return 0, bad
	}
	sign := 1.0
	if v[0] == '-' {
		sign = -1
	}
	if v[0] == '-' || v[0] == '+' {
		v = v[1:]
	}
	switch {
	case v == ".inf":
		return sign * math.Inf(1), nil
	case v == ".nan":
		return math.NaN(), nil
	case strings.Contains(v, ":"):
		total, base := 0.0, 1.0
		parts := strings.Split(v, ":")
		for i := len(parts) - 1; i >= 0; i-- {
			d, err := strconv.ParseFloat(parts[i], 64)
			if err != nil {
				return 0, bad
			}
			total += d * base
			base *= 60
		}
		return sign * total, nil
	}
	if strings.ContainsAny(v, "xpn") || strings.HasPrefix(v, "+") || strings.HasPrefix(v, "-") {
		return 0, bad // Go would read hex floats, inf, nan; python's float() of these never sees them here
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		var ne *strconv.NumError
		if !errors.As(err, &ne) || ne.Err != strconv.ErrRange {
			return 0, bad
		}
	}
	return sign * f, nil
}

var reTimeParts = regexp.MustCompile(`^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9]{1,2})(?::([0-9]{2}))?))?)?$`)

// pyParseTimestamp is SafeConstructor.construct_yaml_timestamp (PyYAML 6: an offset gives an
// aware datetime); the value keeps what str() prints.
func pyParseTimestamp(s string) (*pyVal, error) {
	m := reTimeParts.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf("ValueError: bad timestamp %q", s)
	}
	atoi := func(x string) int { n, _ := strconv.Atoi(x); return n }
	y, mo, d := atoi(m[1]), atoi(m[2]), atoi(m[3])
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return nil, fmt.Errorf("ValueError: day is out of range for month")
	}
	date := fmt.Sprintf("%04d-%02d-%02d", y, mo, d)
	if m[4] == "" {
		return &pyVal{kind: pyDate, s: date, y: y, m: mo, d: d}, nil
	}
	h, mi, sec := atoi(m[4]), atoi(m[5]), atoi(m[6])
	if h > 23 || mi > 59 || sec > 59 {
		return nil, fmt.Errorf("ValueError: hour, minute or second out of range")
	}
	str := fmt.Sprintf("%s %02d:%02d:%02d", date, h, mi, sec)
	if frac := m[7]; frac != "" {
		frac = (frac + "000000")[:6]
		if us := atoi(frac); us != 0 {
			str += fmt.Sprintf(".%06d", us)
		}
	}
	switch {
	case m[9] != "":
		oh, om := atoi(m[10]), atoi(m[11])
		if oh > 23 {
			return nil, fmt.Errorf("ValueError: offset out of range")
		}
		if oh == 0 && om == 0 {
			str += "+00:00"
		} else {
			str += fmt.Sprintf("%s%02d:%02d", m[9], oh, om)
		}
	case m[8] == "Z":
		str += "+00:00"
	}
	return &pyVal{kind: pyDatetime, s: str}, nil
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// set is `d[k] = v`.
func (v *pyVal) set(k, val *pyVal) {
	for i, old := range v.keys {
		if pyEqual(old, k) {
			v.vals[i] = val
			return
		}
	}
	v.keys = append(v.keys, k)
	v.vals = append(v.vals, val)
}

// get is `d[key]` for a string key; false when v is not a dict or lacks it.
func (v *pyVal) get(key string) (*pyVal, bool) {
	if v == nil || v.kind != pyDict {
		return nil, false
	}
	for i, k := range v.keys {
		if k.kind == pyStr && k.s == key {
			return v.vals[i], true
		}
	}
	return nil, false
}

// pyEqual is == for hashable values (True == 1 and 1.0 == 1, as in Python).
func pyEqual(a, b *pyVal) bool {
	an, aok := pyNumber(a)
	bn, bok := pyNumber(b)
	if aok && bok {
		return an.Cmp(bn) == 0
	}
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case pyNone:
		return true
	case pyStr, pyDate, pyDatetime:
		return a.s == b.s
	}
	return false
}

func pyNumber(v *pyVal) (*big.Float, bool) {
	switch v.kind {
	case pyBool:
		if v.b {
			return big.NewFloat(1), true
		}
		return big.NewFloat(0), true
	case pyInt:
		return new(big.Float).SetInt(v.i), true
	case pyFloat:
		if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			return nil, false
		}
		return big.NewFloat(v.f), true
	}
	return nil, false
}

// truthy is Python's bool().
func (v *pyVal) truthy() bool {
	switch v.kind {
	case pyNone:
		return false
	case pyBool:
		return v.b
	case pyInt:
		return v.i.Sign() != 0
	case pyFloat:
		return v.f != 0
	case pyStr:
		return v.s != ""
	case pyList:
		return len(v.list) > 0
	case pyDict:
		return len(v.keys) > 0
	}
	return true
}

// str is Python's str().
func (v *pyVal) str() string {
	switch v.kind {
	case pyNone:
		return "None"
	case pyBool:
		if v.b {
			return "True"
		}
		return "False"
	case pyInt:
		return v.i.String()
	case pyFloat:
		return pyFloatRepr(v.f)
	case pyStr, pyDate, pyDatetime:
		return v.s
	case pyList:
		parts := make([]string, len(v.list))
		for i, c := range v.list {
			parts[i] = c.repr()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case pyDict:
		parts := make([]string, len(v.keys))
		for i := range v.keys {
			parts[i] = v.keys[i].repr() + ": " + v.vals[i].repr()
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return ""
}

// repr is Python's repr().
func (v *pyVal) repr() string {
	switch v.kind {
	case pyStr:
		return pyStrRepr(v.s)
	case pyDate:
		return fmt.Sprintf("datetime.date(%d, %d, %d)", v.y, v.m, v.d)
	case pyDatetime:
		return "datetime.datetime(" + v.s + ")" // approximate: never printed by the templates
	}
	return v.str()
}

// pyStrRepr is CPython's unicode_repr.
func pyStrRepr(s string) string {
	quote := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x7f:
			b.WriteRune(r)
		case r == utf8.RuneError || !unicode.IsPrint(r):
			switch {
			case r <= 0xff:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r <= 0xffff:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// pyFloatRepr is Python 3's repr() of a float: the shortest digits that round-trip, in fixed
// notation when the exponent is in [-4, 16), else scientific with at least two exponent digits.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // "-1.2345e+06"
	mant, expPart, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expPart)
	neg := strings.HasPrefix(mant, "-")
	digits := strings.ReplaceAll(strings.TrimPrefix(mant, "-"), ".", "")
	var out string
	switch {
	case exp < -4 || exp >= 16:
		out = digits[:1]
		if len(digits) > 1 {
			out += "." + digits[1:]
		}
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		out += fmt.Sprintf("e%s%02d", sign, exp)
	case exp < 0:
		out = "0." + strings.Repeat("0", -exp-1) + digits
	default:
		if len(digits) <= exp+1 {
			out = digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
		} else {
			out = digits[:exp+1] + "." + digits[exp+1:]
		}
	}
	if neg {
		out = "-" + out
	}
	return out
}
