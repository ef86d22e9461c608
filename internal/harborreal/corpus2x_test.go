package harborreal

import (
	"bytes"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Every base of the 2.x corpus is a real default (its _version is the one Harbor ships), and
// every recipe changes its base.
func TestCorpus2xShape(t *testing.T) {
	RequireRoot(t)
	cases, err := Corpus2x()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 40 {
		t.Fatalf("2.x corpus has %d cases, want >= 40", len(cases))
	}
	defaults := map[string][]byte{}
	for _, c := range cases {
		if rel, ok := strings.CutSuffix(c.Name, "-default"); ok {
			defaults[rel] = c.YAML
		}
	}
	if len(defaults) != len(bases2x) {
		t.Errorf("%d defaults, want one per base (%d)", len(defaults), len(bases2x))
	}
	for _, c := range cases {
		var m map[string]any
		if err := yaml.Unmarshal(c.YAML, &m); err != nil || m["_version"] == nil {
			t.Errorf("%s: not a harbor.yml with _version: %v", c.Name, err)
		}
		rel := strings.SplitN(c.Name, "-", 2)[0]
		if !strings.HasSuffix(c.Name, "-default") && bytes.Equal(c.YAML, defaults[rel]) {
			t.Errorf("%s: the edits left the default of %s unchanged", c.Name, rel)
		}
	}
}
