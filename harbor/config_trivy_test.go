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

// SetTrivyFlags on Harbor's real 2.15.2 harbor.yml.tmpl: the keys turn true, every comment and
// every other line stays byte for byte, and a second run changes nothing.
func TestSetTrivyFlagsKeepsComments(t *testing.T) {
	root := harborreal.RequireRoot(t)
	src, err := os.ReadFile(filepath.Join(root, "installer", "v2.15.2", "harbor.yml.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(src)
	if err != nil {
		t.Fatal(err)
	}
	changed, err := c.SetTrivyFlags(TrivySkipUpdate, TrivyOfflineScan, TrivySkipJavaDBUpdate)
	if err != nil || !slices.Equal(changed, []string{TrivySkipUpdate, TrivyOfflineScan, TrivySkipJavaDBUpdate}) {
		t.Fatalf("changed %v, %v", changed, err)
	}
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{TrivySkipUpdate, TrivyOfflineScan, TrivySkipJavaDBUpdate} {
		if !strings.Contains(string(out), "\n  "+k+": true\n") {
			t.Errorf("no `%s: true` in the edited file", k)
		}
	}
	// Every comment line of the original is still there, in order.
	var want, got []string
	for _, l := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			want = append(want, strings.TrimSpace(l))
		}
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			got = append(got, strings.TrimSpace(l))
		}
	}
	if !slices.Equal(want, got) {
		t.Errorf("comments changed: %d before, %d after", len(want), len(got))
	}
	// Only the three values differ from what a parse-and-marshal of the original gives.
	c0, _ := ParseConfig(src)
	plain, _ := c0.Marshal()
	if d := lineDiff(string(plain), string(out)); len(d) != 3 {
		t.Errorf("want exactly 3 changed lines, got %d: %q", len(d), d)
	}
	c2, err := ParseConfig(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{TrivySkipUpdate, TrivyOfflineScan, TrivySkipJavaDBUpdate} {
		if !c2.TrivyFlag(k) {
			t.Errorf("%s not true after re-parsing", k)
		}
	}
	if again, err := c2.SetTrivyFlags(TrivySkipUpdate, TrivyOfflineScan); err != nil || len(again) != 0 {
		t.Errorf("second run changed %v, %v", again, err)
	}
}

// A harbor.yml without a trivy section (a 1.x one migrated) gets one.
func TestSetTrivyFlagsCreatesSection(t *testing.T) {
	c, err := ParseConfig([]byte("hostname: h # the host\ndata_volume: /data\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.TrivyFlag(TrivySkipUpdate) {
		t.Error("missing key read as true")
	}
	if _, err := c.SetTrivyFlags(TrivySkipUpdate); err != nil {
		t.Fatal(err)
	}
	out, _ := c.Marshal()
	if !strings.Contains(string(out), "trivy:\n  skip_update: true\n") || !strings.Contains(string(out), "# the host") {
		t.Errorf("edited:\n%s", out)
	}
}

func lineDiff(a, b string) []string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var d []string
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			d = append(d, x+" -> "+y)
		}
	}
	return d
}

// trivy_keys of every release whose installer harbor-real has are exactly the keys of the
// `trivy:` section of its harbor.yml.tmpl that prepare writes into the adapter's env, in the
// template's order.
func TestCatalogTrivyKeysMatchInstallers(t *testing.T) {
	root := harborreal.RequireRoot(t)
	c := mustCatalog(t)
	dirs, _ := filepath.Glob(filepath.Join(root, "installer", "v2.*"))
	if len(dirs) == 0 {
		t.Fatalf("no installer/v2.* under %s", root)
	}
	key := regexp.MustCompile(`(?m)^  (skip_update|offline_scan|skip_java_db_update):`)
	for _, dir := range dirs {
		tag := filepath.Base(dir)
		b, err := os.ReadFile(filepath.Join(dir, "harbor.yml.tmpl"))
		if err != nil {
			t.Errorf("%s: %v", tag, err)
			continue
		}
		var want []string
		for _, m := range key.FindAllStringSubmatch(string(b), -1) {
			want = append(want, m[1])
		}
		env, err := os.ReadFile(filepath.Join(root, "prepare", tag, "templates", "trivy-adapter", "env.jinja"))
		if err != nil {
			t.Errorf("%s: %v", tag, err)
			continue
		}
		for _, k := range want {
			if !strings.Contains(string(env), "{{trivy_"+k+"}}") {
				t.Errorf("%s: harbor.yml.tmpl has trivy.%s but the adapter env does not use it", tag, k)
			}
		}
		if r := mustGet(t, c, tag); !slices.Equal(r.TrivyKeys, want) {
			t.Errorf("%s: catalog trivy_keys %v, harbor.yml.tmpl has %v", tag, r.TrivyKeys, want)
		}
	}
	for _, r := range c.Releases() {
		if r.Semver().Major == 1 && len(r.TrivyKeys) > 0 {
			t.Errorf("%s: 1.x has no trivy, catalog trivy_keys %v", r.Version, r.TrivyKeys)
		}
	}
}
