package harbor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harborbundle/bundle/internal/harborreal"
)

// realRun is what Harbor's real 1.10 migrator did with one corpus case, in both mount modes.
type realRun struct {
	c       harborreal.Case
	ok      bool   // exit 0, not Py2Fails, and what it wrote reads as YAML with PyYAML
	why     string // why not ok
	result  []byte // the migrated file (nil when nothing was written)
	verdict [2]bool
	// to19: for a 1.8.0 file, the same with --version 1.9.0 (only the 1.9.0 step).
	to19, ok19 bool
	why19      string
}

var (
	realRunsOnce sync.Once
	realRuns     []realRun
	realRunsErr  error
)

// runCorpus runs the real migrator on every corpus case in both OutModes, once per test binary.
func runCorpus(t *testing.T) []realRun {
	t.Helper()
	harborreal.RequireRoot(t)
	realRunsOnce.Do(func() {
		cases, err := harborreal.Corpus()
		if err != nil {
			realRunsErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		realRuns = make([]realRun, len(cases))
		sem := make(chan struct{}, 2) // the machine has two cores
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i, c := range cases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				rr, err := runCase(ctx, c)
				mu.Lock()
				defer mu.Unlock()
				if err != nil && realRunsErr == nil {
					realRunsErr = err
				}
				realRuns[i] = rr
			}()
		}
		wg.Wait()
	})
	if realRunsErr != nil {
		t.Fatal(realRunsErr)
	}
	return realRuns
}

func runCase(ctx context.Context, c harborreal.Case) (realRun, error) {
	rr := realRun{c: c}
	verdict := func(r harborreal.MigratorResult) (bool, string) {
		switch {
		case r.Exit != 0:
			return false, fmt.Sprintf("exit %d: %s", r.Exit, lastLine(r.Log))
		case r.Py2Fails:
			return false, "wrote non-ASCII, which the image's Python 2 cannot"
		case r.Wrote():
			if _, err := harborreal.LoadYAML(ctx, r.Result()); err != nil {
				return false, "wrote a file that is not YAML: " + err.Error()
			}
		}
		return true, ""
	}
	if bytes.Contains(c.YAML, []byte("\n_version: 1.8.0\n")) {
		r, err := harborreal.RunMigrator110To(ctx, c.YAML, harborreal.OutFileExists, "1.9.0")
		if err != nil {
			return rr, fmt.Errorf("%s: %w", c.Name, err)
		}
		if !strings.Contains(r.Log, "migrator chain: ['1.9.0']") && r.Exit == 0 {
			return rr, fmt.Errorf("%s: --version 1.9.0 did not run the 1.9.0 step alone:\n%s", c.Name, r.Log)
		}
		rr.to19 = true
		rr.ok19, rr.why19 = verdict(r)
	}
	// An existing out file: the result lands there.
	r, err := harborreal.RunMigrator110(ctx, c.YAML, harborreal.OutFileExists)
	if err != nil {
		return rr, fmt.Errorf("%s: %w", c.Name, err)
	}
	rr.ok, rr.why = verdict(r)
	rr.verdict[1] = rr.ok
	if r.Wrote() {
		rr.result = r.Out
	}
	exit, py2 := r.Exit, r.Py2Fails
	// An empty out dir: the same result, over the input (read once by PyYAML above: same bytes).
	r, err = harborreal.RunMigrator110(ctx, c.YAML, harborreal.OutDirEmpty)
	if err != nil {
		return rr, fmt.Errorf("%s: %w", c.Name, err)
	}
	if r.Exit == exit && r.Py2Fails == py2 && r.Wrote() == (rr.result != nil) && (rr.result == nil || bytes.Equal(r.Input, rr.result)) {
		rr.verdict[0] = rr.ok
	} else {
		rr.verdict[0], _ = verdict(r)
	}
	if r.Out != nil {
		return rr, fmt.Errorf("%s: with an empty out dir the real migrator wrote harbor-cfg-out/harbor.yml", c.Name)
	}
	return rr, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// The preflight verdict equals whether Harbor's real migrator succeeds, for every corpus case.
func TestCheckForMigratorMatchesRealMigrator(t *testing.T) {
	runs := runCorpus(t)
	var good, bad, to19 int
	for _, rr := range runs {
		if rr.verdict[0] != rr.verdict[1] {
			t.Errorf("%s: the real migrator's verdict depends on the mount mode (empty out dir %v, existing out file %v)", rr.c.Name, rr.verdict[0], rr.verdict[1])
		}
		c, err := ParseConfig(rr.c.YAML)
		if err != nil {
			t.Errorf("%s: %v", rr.c.Name, err)
			continue
		}
		err = c.CheckForMigrator("1.10.0")
		switch {
		case rr.ok && err != nil:
			t.Errorf("%s (%s): the real migrator migrates it, preflight refuses: %v", rr.c.Name, rr.c.Why, err)
		case !rr.ok && err == nil:
			t.Errorf("%s (%s): the real migrator fails (%s), preflight passes it", rr.c.Name, rr.c.Why, rr.why)
		case err != nil:
			if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "harbor.yml") {
				t.Errorf("%s: error is not one line naming harbor.yml: %q", rr.c.Name, err)
			}
			t.Logf("%-40s refused: %v", rr.c.Name, err)
		}
		if rr.to19 {
			err := c.CheckForMigrator("1.9.0")
			switch {
			case rr.ok19 && err != nil:
				t.Errorf("%s -> 1.9.0: the real migrator migrates it, preflight refuses: %v", rr.c.Name, err)
			case !rr.ok19 && err == nil:
				t.Errorf("%s -> 1.9.0: the real migrator fails (%s), preflight passes it", rr.c.Name, rr.why19)
			}
			to19++
		}
		if rr.ok {
			good++
		} else {
			bad++
		}
	}
	if good < 20 || bad < 20 {
		t.Errorf("the corpus must exercise both verdicts: %d migrate, %d fail", good, bad)
	}
	if to19 < 20 {
		t.Errorf("only %d 1.8 cases checked against --version 1.9.0", to19)
	}
	t.Logf("%d cases: %d migrate, %d fail with the real migrator; %d 1.8 files also to 1.9.0", len(runs), good, bad, to19)
}

// FixMigrated, applied to what the real migrator wrote, gives back every value the templates
// copy, as PyYAML reads it, equal to the old file's; comments stay.
func TestFixMigratedOnRealOutput(t *testing.T) {
	runs := runCorpus(t)
	ctx := context.Background()
	mustFix := map[string]string{
		"v1.9.4-external-redis-null-password": "external_redis.password",
		"v1.8.6-external-redis-null-password": "external_redis.password",
		"v1.9.4-password-yaml-words":          "harbor_admin_password",
		"v1.9.4-password-leading-zeros":       "database.password",
		"v1.8.6-password-leading-zeros":       "database.password",
		"v1.9.4-password-hash":                "database.password",
		"v1.8.6-password-hash":                "harbor_admin_password",
		"v1.8.6-hostname-null":                "hostname",
		"v1.9.4-https-null-cert":              "https.certificate",
	}
	checked := 0
	for _, rr := range runs {
		if !rr.ok || rr.result == nil {
			continue
		}
		old, err := ParseConfig(rr.c.YAML)
		must(t, err)
		mig, err := ParseConfig(rr.result)
		if err != nil {
			t.Errorf("%s: the real migrator's output does not parse: %v", rr.c.Name, err)
			continue
		}
		fixes, err := FixMigrated(old, mig)
		if err != nil {
			t.Errorf("%s: %v", rr.c.Name, err)
			continue
		}
		if want, ok := mustFix[rr.c.Name]; ok && !strings.Contains(strings.Join(fixes, "\n"), want+":") {
			t.Errorf("%s: want a fix of %s, got %q", rr.c.Name, want, fixes)
		}
		delete(mustFix, rr.c.Name)
		fixed, err := mig.Marshal()
		must(t, err)
		if !bytes.Contains(fixed, []byte("# The IP address or hostname to access admin UI")) {
			t.Errorf("%s: FixMigrated lost the migrated file's comments", rr.c.Name)
		}
		oldJ, err := harborreal.LoadYAML(ctx, rr.c.YAML)
		must(t, err)
		newJ, err := harborreal.LoadYAML(ctx, fixed)
		if err != nil {
			t.Errorf("%s: the fixed file is not YAML: %v", rr.c.Name, err)
			continue
		}
		var was, now map[string]any
		must(t, json.Unmarshal(oldJ, &was))
		must(t, json.Unmarshal(newJ, &now))
		from := old.ConfigVersion()
		for _, p := range copiedPaths(old, from) {
			np := p
			if from == "1.8.0" && renamed1_9[p] != "" {
				if strings.HasPrefix(p, "clair.") && !anyTruthy(old.lookup([]string{"clair"}), []string{"http_proxy", "https_proxy"}) {
					continue
				}
				np = renamed1_9[p]
			}
			a, b := jsonAt(was, p), jsonAt(now, np)
			if fmt.Sprint(a) != fmt.Sprint(b) && !(a == nil && b == "") {
				t.Errorf("%s: %s is %#v in the old file, %#v after the real migrator and FixMigrated", rr.c.Name, np, a, b)
			}
		}
		for _, f := range fixes {
			for _, secret := range []string{"Adm1n", "00123", "007123", "abc"} {
				if strings.Contains(f, secret) {
					t.Errorf("%s: a fix message shows a value: %q", rr.c.Name, f)
				}
			}
		}
		checked++
	}
	for name := range mustFix {
		t.Errorf("%s: not migrated by the real migrator or missing from the corpus", name)
	}
	if checked < 30 {
		t.Errorf("only %d real outputs checked", checked)
	}
}

func jsonAt(m map[string]any, path string) any {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

// TestMigratorTemplatesRead reads Harbor's real templates and checks that migratorTemplates
// accounts for every variable path they read, and reads nothing they do not.
func TestMigratorTemplatesRead(t *testing.T) {
	root := harborreal.RequireRoot(t)
	for from, step := range migratorTemplates {
		b, err := os.ReadFile(filepath.Join(root, "migrator-v1.10.0", "cfg", step.template))
		if err != nil {
			t.Fatal(err)
		}
		read := templatePaths(string(b))
		ours := specPaths("", step.keys)
		for p := range read {
			if !ours[p] {
				t.Errorf("%s (from %s) reads %s, which migratorTemplates does not account for", step.template, from, p)
			}
		}
		for p := range ours {
			if !read[p] {
				t.Errorf("migratorTemplates[%s] has %s, which %s does not read", from, p, step.template)
			}
		}
		if len(read) < 30 {
			t.Errorf("%s: only %d paths extracted; the extraction is broken", step.template, len(read))
		}
		// The version the step accepts and writes, from the real files.
		init, err := os.ReadFile(filepath.Join(root, "migrator-v1.10.0", "cfg", filepath.Dir(step.template), "__init__.py"))
		must(t, err)
		if !strings.Contains(string(init), "acceptable_versions = ['"+from+"']") || !strings.Contains(string(b), "_version: "+step.to+"\n") {
			t.Errorf("%s: does not accept %s or write _version %s", step.template, from, step.to)
		}
	}
}

var (
	jinjaTag    = regexp.MustCompile(`(?s)\{\{(.*?)\}\}|\{%(.*?)%\}`)
	jinjaString = regexp.MustCompile(`'[^']*'|"[^"]*"`)
	jinjaPath   = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*`)
	jinjaWords  = map[string]bool{"if": true, "elif": true, "else": true, "endif": true, "for": true, "in": true, "endfor": true,
		"is": true, "not": true, "defined": true, "none": true, "and": true, "or": true}
)

// templatePaths extracts the variable paths a jinja template reads, loop variables resolved:
// storage_service's `key, value` (a backend, or ca_bundle, or redirect), its settings `k, v`,
// and proxy.components' items.
func templatePaths(src string) map[string]bool {
	out := map[string]bool{}
	for _, m := range jinjaTag.FindAllStringSubmatch(src, -1) {
		expr := jinjaString.ReplaceAllString(m[1]+m[2], "")
		for _, p := range jinjaPath.FindAllString(expr, -1) {
			if jinjaWords[p] {
				continue
			}
			p = strings.TrimSuffix(p, ".items")
			switch {
			case p == "key" || p == "value" || p == "k" || p == "v":
				p = "storage_service.*"
			case p == "value.disabled":
				p = "storage_service.redirect.disabled"
			case p == "component":
				p = "proxy.components"
			}
			for i, c := range p {
				if c == '.' {
					out[p[:i]] = true // reading a.b.c reads a and a.b
				}
			}
			out[p] = true
		}
	}
	return out
}

// specPaths flattens migratorTemplates keys into the same notation (every prefix included,
// as the templates test sections with `is defined`).
func specPaths(prefix string, keys []tmplKey) map[string]bool {
	out := map[string]bool{}
	for _, k := range keys {
		p := prefix + k.key
		out[p] = true
		if k.storage {
			out[p+".*"] = true
			out[p+".redirect"] = true
			out[p+".redirect.disabled"] = true
		}
		for sp := range specPaths(p+".", k.fields) {
			out[sp] = true
		}
	}
	return out
}

func TestPyPlainResolvesAsPyYAML(t *testing.T) {
	cases := map[string]pyValue{
		"yes": {"bool", "true"}, "Off": {"bool", "false"}, "~": {"null", ""}, "": {"null", ""}, "0x10": {"int", "16"},
		"007": {"int", "7"}, "00123": {"int", "83"}, "1:30": {"int", "90"}, "0b11": {"int", "3"}, "12": {"int", "12"},
		"1.5": {"float", "1.5"}, "None": {"str", "None"}, "y": {"str", "y"}, "200M": {"str", "200M"}, "09": {"str", "09"},
	}
	keys := make([]string, 0, len(cases))
	for k := range cases {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, s := range keys {
		if got := pyPlain(s); got != cases[s] {
			t.Errorf("pyPlain(%q) = %v, want %v", s, got, cases[s])
		}
	}
}
