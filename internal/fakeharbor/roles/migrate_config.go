package roles

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// configChain is the order of harbor.yml schema versions (`_version`) the 1.x migrator migrates
// YAML files through; each step renders the next version's template from the previous file.
var configChain = []string{"1.8.0", "1.9.0", "1.10.0"}

// configSteps renders the template of the version at the same index of configChain from a file
// of the version before it.
var configSteps = map[string]func(t *tmpl){
	"1.9.0":  template190,
	"1.10.0": template1100,
}

// cfgMigrators are the `_version`s older than 1.8.0 that the real cfg/run.py finds a chain for
// (migrator_1_5_0 .. migrator_1_8_0 convert the INI harbor.cfg); the fake does not convert them.
var cfgMigrators = []string{"1.2.0", "1.3.0", "1.4.0", "1.5.0", "1.6.0", "1.7.0"}

// UnsupportedVersionError is run.py's "No migrator for version" (exit 1, so migrator.py 102).
type UnsupportedVersionError struct{ From string }

func (e *UnsupportedVersionError) Error() string {
	return fmt.Sprintf("No migrator for version: %s", e.From)
}

// NotASCIIError is Python 2's UnicodeEncodeError when a step writes a rendered file holding a
// non-ASCII character: the harbor-migrator image runs cfg/run.py with Python 2.7, whose
// open(path, 'w').write(unicode) encodes with the ASCII codec.
type NotASCIIError struct{ Step string }

func (e *NotASCIIError) Error() string {
	return fmt.Sprintf("migrating to version %s: UnicodeEncodeError: 'ascii' codec can't encode character: ordinal not in range(128)", e.Step)
}

// Migration is what cfg/run.py did with one file.
type Migration struct {
	From  string   // str() of the input's _version
	Chain []string // the versions it rendered, in order; empty: nothing to do
	Out   []byte   // the last step's file; nil when nothing was migrated
}

// MigrateConfig is cfg/run.py of harbor-migrator v1.10.0 (imitated, not run): it reads data as
// yaml.safe_load does, takes `_version`, does nothing when that is target ("no need to
// upgrade"), finds the chain of templates, and renders them one after the other, each step
// re-reading the file the previous one wrote (comments and unknown keys are gone). overwrite is
// run.py without --output, which adds its own check of the version string. Errors are the
// ones that make run.py exit 1: *LoadError, a bad or missing `_version`,
// *UnsupportedVersionError, *UndefinedError, *TypeError, *NotASCIIError.
func MigrateConfig(data []byte, target string, overwrite bool) (Migration, error) {
	d, err := readConf(data)
	if err != nil {
		return Migration{}, err
	}
	ver, ok := d.get("_version")
	if !ok { // only an INI file gets here without one: utils.get_conf_version's guesses
		ver = &pyVal{kind: pyStr, s: iniVersion(d)}
	}
	m := Migration{From: ver.str()}
	if ver.kind == pyStr && ver.s == target {
		return m, nil
	}
	if overwrite {
		// float(input_version[:input_version.rfind('.')]): a non-string or a version whose head
		// is no number raises.
		if ver.kind != pyStr {
			return m, fmt.Errorf("AttributeError: '%s' object has no attribute 'rfind'", pyTypeName(ver))
		}
		head := ver.s[:max(len(ver.s)-1, 0)] // rfind gives -1: s[:-1]
		if i := strings.LastIndex(ver.s, "."); i >= 0 {
			head = ver.s[:i]
		}
		if _, err := strconv.ParseFloat(strings.TrimSpace(strings.ReplaceAll(head, "_", "")), 64); err != nil {
			return m, fmt.Errorf("ValueError: could not convert string to float: %s", pyStrRepr(head))
		}
	}
	from := chainIndex(ver, target)
	if from == -2 {
		return m, fmt.Errorf("_version %s is a harbor.cfg (INI) version: the fake migrator does not convert harbor.cfg (bundle refuses 1.7 before migrating)", m.From)
	}
	if from < 0 {
		return m, &UnsupportedVersionError{From: m.From}
	}
	cur := d
	for i := from + 1; i <= chainIndexOf(target); i++ {
		step := configChain[i]
		m.Chain = append(m.Chain, step)
		text, err := render(cur, configSteps[step])
		if err != nil {
			return m, err
		}
		if !isASCII(text) {
			return m, &NotASCIIError{Step: step}
		}
		m.Out = text
		if i < chainIndexOf(target) {
			if cur, err = readConf(text); err != nil {
				return m, fmt.Errorf("reading the %s file it wrote: %w", step, err)
			}
		}
	}
	return m, nil
}

// readConf is cfg/utils.py read_conf: YAML, a dict holding `_version`; a file that is no YAML
// (a yaml.YAMLError) is read as the INI of a 1.x harbor.cfg instead, every value a string.
func readConf(data []byte) (*pyVal, error) {
	d, err := pyLoad(data)
	var yerr *LoadError
	if errors.As(err, &yerr) {
		return iniConf(string(data))
	}
	if err != nil {
		return nil, err
	}
	if d.kind != pyDict {
		return nil, errors.New("Exception: Bad format configuration file")
	}
	if _, ok := d.get("_version"); !ok {
		return nil, errors.New("Exception: Bad format configuration file: no _version")
	}
	return d, nil
}

// chainIndex is the index in configChain to start after, -1 when run.py's search finds no
// chain to target (or only one through the harbor.cfg migrators the fake lacks).
func chainIndex(ver *pyVal, target string) int {
	end := chainIndexOf(target)
	if ver.kind != pyStr || end < 0 {
		return -1
	}
	if i := chainIndexOf(ver.s); i >= 0 && i < end {
		return i
	}
	for _, v := range cfgMigrators {
		if v == ver.s {
			return -2
		}
	}
	return -1
}

func chainIndexOf(v string) int {
	for i, c := range configChain {
		if c == v {
			return i
		}
	}
	return -1
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
