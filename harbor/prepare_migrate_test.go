package harbor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harborbundle/bundle/internal/harborreal"
)

// prepareRun is what one release's real `prepare migrate` (default target) did with one file.
type prepareRun struct {
	c       harborreal.Case
	release string // prepare folder, e.g. v2.15.2
	ok      bool   // exit 0 and the output (if written) loads with PyYAML
	why     string
}

// sampleLines picks the releases a file (of _version from) is checked against: the first
// release that migrates it, the latest, and for a default file also its own line ("no need to
// upgrade"); every accepting release with BUNDLE_PREPARE_FULL=1.
func sampleLines(d *prepareData, name, from string, accepting []string) []string {
	if os.Getenv("BUNDLE_PREPARE_FULL") == "1" {
		return accepting
	}
	var out []string
	add := func(rel string) {
		if !slices.Contains(out, rel) {
			out = append(out, rel)
		}
	}
	for _, rel := range accepting {
		own := d.Lines[mustVersion(rel).Line()].Target == from
		if own && strings.HasSuffix(name, "-default") {
			add(rel)
		}
		if !own {
			add(rel)
			break
		}
	}
	if len(accepting) > 0 {
		add(accepting[len(accepting)-1])
	}
	return out
}

// prepareAccepts: the release's default migrate takes this _version (it is on the chain, or the
// target itself).
func prepareAccepts(l *pmLine, from string) bool {
	if from == l.Target {
		return true
	}
	for _, s := range l.Steps {
		if s.From == from {
			return true
		}
	}
	return false
}

// The preflight verdict for a 2.x target equals whether that release's real prepare migrate
// succeeds, for the 2.x corpus files against release lines whose default migrate accepts their
// _version. The full cross product (about 1000 runs of 1-2 s here) is too slow for make test,
// so each file is checked against a deterministic sample (sampleLines): the first release that
// migrates it (every line is covered, by the default file of the line before), the latest (every
// loss between steps is crossed); two runs at a time. BUNDLE_PREPARE_FULL=1 runs them all.
func TestCheckForPrepareMigrateMatchesRealPrepare(t *testing.T) {
	harborreal.RequireRoot(t)
	cases, err := harborreal.Corpus2x()
	must(t, err)
	d, err := prepareDataOnce()
	must(t, err)
	if len(cases) < 40 {
		t.Fatalf("only %d 2.x corpus files", len(cases))
	}
	var jobs []prepareRun
	for _, c := range cases {
		cfg, err := ParseConfig(c.YAML)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		var accepting []string
		for _, line := range PrepareMigrateLines() {
			if l := d.Lines[line]; prepareAccepts(l, cfg.ConfigVersion()) {
				accepting = append(accepting, l.Prepare)
			}
		}
		for _, rel := range sampleLines(d, c.Name, cfg.ConfigVersion(), accepting) {
			jobs = append(jobs, prepareRun{c: c, release: rel})
		}
	}
	start := time.Now()
	budget := 10 * time.Minute
	if os.Getenv("BUNDLE_PREPARE_FULL") == "1" {
		budget = 40 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	sem := make(chan struct{}, 2) // the machine has two cores
	var wg sync.WaitGroup
	var mu sync.Mutex
	var runErr error
	for i := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			j := &jobs[i]
			r, err := harborreal.RunPrepareMigrate(ctx, j.release, j.c.YAML, "")
			switch {
			case err != nil:
				mu.Lock()
				runErr = fmt.Errorf("%s on %s: %w", j.release, j.c.Name, err)
				mu.Unlock()
			case r.Exit != 0:
				j.why = fmt.Sprintf("exit %d: %s", r.Exit, lastLine(r.Log))
			case r.Out == nil && !strings.Contains(r.Log, "no need to upgrade"):
				j.why = "exit 0 without output: " + lastLine(r.Log)
			case r.Out != nil:
				if _, err := harborreal.LoadYAML(ctx, r.Out); err != nil {
					j.why = "wrote a file that is not YAML: " + err.Error()
				} else {
					j.ok = true
				}
			default:
				j.ok = true
			}
		}()
	}
	wg.Wait()
	if runErr != nil {
		t.Fatal(runErr)
	}
	elapsed := time.Since(start)
	good, bad := 0, 0
	perLine := map[string]int{}
	hit := map[string]int{} // rule kinds seen refusing a file the real code fails on
	for _, j := range jobs {
		cfg, _ := ParseConfig(j.c.YAML)
		err := cfg.CheckForPrepareMigrate(j.release)
		perLine[j.release]++
		switch {
		case j.ok && err != nil:
			t.Errorf("%s -> %s: the real prepare migrate migrates it, preflight refuses: %v", j.c.Name, j.release, err)
		case !j.ok && err == nil:
			t.Errorf("%s -> %s (%s): the real prepare migrate fails (%s), preflight passes it", j.c.Name, j.release, j.c.Why, j.why)
		case err != nil:
			for _, kind := range []string{"external_redis: prepare migrate", "external_database: prepare migrate", "compares it with numbers", "writes it unquoted", "is missing;", "is empty (null), not a mapping", "not a list"} {
				if strings.Contains(err.Error(), kind) {
					hit[kind]++
				}
			}
			if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "harbor.yml") {
				t.Errorf("%s -> %s: error is not one line naming harbor.yml: %q", j.c.Name, j.release, err)
			}
			t.Logf("%-45s -> %-8s refused: %v", j.c.Name, j.release, err)
		}
		if j.ok {
			good++
		} else {
			bad++
		}
	}
	for _, line := range PrepareMigrateLines() {
		if perLine[d.Lines[line].Prepare] == 0 {
			t.Errorf("no corpus file checked against %s", d.Lines[line].Prepare)
		}
	}
	for _, kind := range []string{"external_redis: prepare migrate", "external_database: prepare migrate", "compares it with numbers", "writes it unquoted", "is missing;", "is empty (null), not a mapping", "not a list"} {
		if hit[kind] == 0 {
			t.Errorf("no corpus file exercises the rule %q", kind)
		}
	}
	if good < 50 || bad < 30 {
		t.Errorf("the corpus must exercise both verdicts: %d migrate, %d fail", good, bad)
	}
	t.Logf("%d files x releases = %d real prepare migrate runs in %v: %d migrate, %d fail", len(cases), len(jobs), elapsed.Round(time.Second), good, bad)
}

// The _version rules of commands/migrate.py, the line lookup and the one-line messages.
func TestCheckForPrepareMigrateVersions(t *testing.T) {
	root := harborreal.RequireRoot(t)
	read := func(rel, file string) []byte {
		b, err := os.ReadFile(root + "/installer/" + rel + "/" + file)
		must(t, err)
		return b
	}
	cases := []struct {
		file     []byte
		release  string
		wantErr  string // "" for nil
		wantNone bool
	}{
		{read("v1.8.6", "harbor.yml"), "v2.15.2", "older than 1.9.0", false},
		{read("v2.15.2", "harbor.yml.tmpl"), "v2.15.0", "", true}, // "no need to upgrade"
		{read("v2.15.2", "harbor.yml.tmpl"), "v2.14.4", "newer than the target", false},
		{read("v1.10.0", "harbor.yml"), "v2.0.1", "", true}, // a patch uses its line's data
		{read("v2.5.6", "harbor.yml.tmpl"), "v3.0.0", "no data on the prepare migrate", false},
		{bytes.Replace(read("v2.5.6", "harbor.yml.tmpl"), []byte("_version: 2.5.0"), []byte("_version: 2.5.1"), 1), "v2.9.5", "no step from _version 2.5.1", false},
	}
	for i, c := range cases {
		cfg, err := ParseConfig(c.file)
		must(t, err)
		err = cfg.CheckForPrepareMigrate(c.release)
		switch {
		case c.wantNone && err != nil:
			t.Errorf("case %d: %v", i, err)
		case !c.wantNone && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("case %d: got %v, want an error containing %q", i, err, c.wantErr)
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Errorf("case %d: not one line: %q", i, err)
		}
	}
}

// Every catalog release migrated by prepare has a line in the data, and its config_version is
// that line's `-t` default.
func TestPrepareMigrateCoversCatalog(t *testing.T) {
	cat, err := DefaultCatalog()
	must(t, err)
	d, err := prepareDataOnce()
	must(t, err)
	n := 0
	for _, r := range cat.Releases() {
		if r.Migration.Method != MethodPrepare {
			continue
		}
		v, err := ParseVersion(r.Version)
		must(t, err)
		l := d.Lines[v.Line()]
		switch {
		case l == nil:
			t.Errorf("%s: no prepare migrate data for line %s", r.Version, v.Line())
		case l.Target != r.ConfigVersion:
			t.Errorf("%s: catalog config_version %s, but prepare %s migrates to %s", r.Version, r.ConfigVersion, l.Prepare, l.Target)
		}
		n++
	}
	if n < 16 {
		t.Errorf("only %d catalog releases use prepare migrate", n)
	}
}
