package harbor

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/internal/harborreal"
)

var (
	// validate() in utils/configs.py: a keyword argument whose truth refuses a protocol other
	// than https (2.0-2.8: `if protocol != "https" and kwargs.get('notary_mode'): raise ...`).
	httpsRefusal = regexp.MustCompile(`if protocol != "https" and kwargs\.get\('(\w+)'\):\s*raise Exception\(\s*"([^"]*)"`)
	// commands/prepare.py's call of validate() and the keyword arguments it passes.
	validateCall = regexp.MustCompile(`\bvalidate\(config_dict((?:,\s*\w+=\w+)*)\)`)
	validateArg  = regexp.MustCompile(`(\w+)=with_(\w+)`)
)

// httpsRequiredByPrepare derives, from one tag's prepare code, the optional components whose
// --with-<component> makes validate() refuse a harbor.yml without https.
func httpsRequiredByPrepare(t *testing.T, dir string) []string {
	t.Helper()
	configs, err := os.ReadFile(filepath.Join(dir, "utils", "configs.py"))
	if err != nil {
		t.Fatal(err)
	}
	prepare, err := os.ReadFile(filepath.Join(dir, "commands", "prepare.py"))
	if err != nil {
		t.Fatal(err)
	}
	call := validateCall.FindStringSubmatch(string(prepare))
	if call == nil {
		t.Fatalf("%s: commands/prepare.py calls no validate(config_dict...)", dir)
	}
	passed := map[string]string{} // keyword -> component
	for _, a := range validateArg.FindAllStringSubmatch(call[1], -1) {
		passed[a[1]] = a[2]
	}
	var out []string
	for _, m := range httpsRefusal.FindAllStringSubmatch(string(configs), -1) {
		if !strings.Contains(m[2], "must be https") {
			t.Errorf("%s: validate() refuses %s without https saying %q: read it again", dir, m[1], m[2])
		}
		if c, ok := passed[m[1]]; ok {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// https_required_for of every 2.x release is what its line's prepare refuses without https
// (the last patch of each line is in harbor-real; its patches share validate()).
func TestCatalogHTTPSRequiredMatchesPrepare(t *testing.T) {
	root := harborreal.RequireRoot(t)
	c := mustCatalog(t)
	dirs, _ := filepath.Glob(filepath.Join(root, "prepare", "v2.*"))
	if len(dirs) < 16 {
		t.Fatalf("%d 2.x prepare folders under %s, want every line", len(dirs), root)
	}
	byLine := map[string][]string{}
	some := 0
	for _, d := range dirs {
		v, err := ParseVersion(filepath.Base(d))
		if err != nil {
			t.Fatal(err)
		}
		byLine[v.Line()] = httpsRequiredByPrepare(t, d)
		if len(byLine[v.Line()]) > 0 {
			some++
		}
	}
	if some == 0 {
		t.Fatal("no 2.x prepare refuses anything without https: the patterns no longer read the real code")
	}
	checked := 0
	for _, r := range c.Releases() {
		want, ok := byLine[r.v.Line()]
		if !ok {
			if r.v.Major >= 2 {
				t.Errorf("%s: no prepare of its line in harbor-real", r.Version)
			}
			continue
		}
		checked++
		got := slices.Sorted(slices.Values(r.HTTPSRequiredFor))
		if !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Errorf("%s: https_required_for %q, its prepare refuses %q without https", r.Version, got, want)
		}
	}
	t.Logf("%d 2.x releases checked; lines refusing without https: %d", checked, some)
}
