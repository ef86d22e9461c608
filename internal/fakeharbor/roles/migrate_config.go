package roles

import (
	"bytes"
	"fmt"

	"gopkg.in/yaml.v3"
)

// configChain is the order of harbor.yml schema versions (`_version`) the 1.x migrator knows;
// each step renders the next version's template from the previous version's values.
var configChain = []string{"1.8.0", "1.9.0", "1.10.0"}

// configSteps renders the template of the version at the same index of configChain from a file
// of the version before it.
var configSteps = map[string]func(t *tmpl){
	"1.9.0":  template190,
	"1.10.0": template1100,
}

// UnsupportedVersionError is a `_version` the migrator has no chain for (exit 102).
type UnsupportedVersionError struct{ From, To string }

func (e *UnsupportedVersionError) Error() string {
	return fmt.Sprintf("No migrator for version: %s (target %s)", e.From, e.To)
}

// MigrateConfig migrates a parsed harbor.yml of schema version from to version to, step by step
// as the real harbor-migrator does: every step renders a fresh file from its template (comments
// of the input are not kept, the template's are) and the next step reads that file again. It
// returns the final file. Errors: *UnsupportedVersionError, *UndefinedError (a key the templates
// need is missing), or the YAML error of an intermediate file that does not parse.
func MigrateConfig(in *yaml.Node, from, to string) ([]byte, error) {
	start, end := chainIndex(from), chainIndex(to)
	if start < 0 || end <= start {
		return nil, &UnsupportedVersionError{From: from, To: to}
	}
	root := deref(in)
	var text []byte
	for i := start + 1; i <= end; i++ {
		if root == nil || root.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("reading the %s file: not a YAML mapping", configChain[i-1])
		}
		var err error
		if text, err = render(root, configSteps[configChain[i]]); err != nil {
			return nil, err
		}
		if i < end {
			var doc yaml.Node
			if err := yaml.Unmarshal(text, &doc); err != nil {
				return nil, fmt.Errorf("reading the intermediate %s file: %w", configChain[i], err)
			}
			root = deref(&doc)
		}
	}
	return text, nil
}

func chainIndex(v string) int {
	for i, c := range configChain {
		if c == v {
			return i
		}
	}
	return -1
}

// configVersion reads `_version` from a harbor.yml; "" when absent.
func configVersion(data []byte) (string, *yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return "", nil, err
	}
	n, ok := lookupNode(&doc, "_version")
	if !ok {
		return "", &doc, nil
	}
	return pyStr(n), &doc, nil
}
