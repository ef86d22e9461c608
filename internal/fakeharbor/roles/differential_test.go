package roles

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/harborbundle/bundle/internal/harborreal"
)

// The migrator role in-process against Harbor's real v1.10.0 migrator.py + cfg/run.py (Debian's
// python3 on a private copy, internal/harborreal), on the corners of YAML 1.1, Python's printing
// and jinja's rules that administrators' files rarely reach (the corpus of such files is held
// to the real code through the fake IMAGE by internal/fakeharbor's
// TestMigratorImageMatchesRealMigrator). Both mount modes: the same exit code, the result in the
// same place, the same tree as PyYAML reads it, and every line that is neither blank nor a
// comment identical (the fake prints each value exactly where and as jinja does; comments may
// differ). BUNDLE_DIFF_CORPUS=1 adds the corpus, for iterating without Docker.
func TestMigratorMatchesRealMigrator(t *testing.T) {
	harborreal.RequireRoot(t)
	inputs := append([]namedInput(nil), extraDifferentialInputs...)
	if os.Getenv("BUNDLE_DIFF_CORPUS") != "" {
		corpus, err := harborreal.Corpus()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range corpus {
			inputs = append(inputs, namedInput{c.Name, c.YAML})
		}
	}
	compareWithReal(t, inputs)
}

type namedInput struct {
	name string
	yaml []byte
}

// extraDifferentialInputs are the corners of the value printing and of jinja's rules that the
// corpus of administrator edits does not reach.
var extraDifferentialInputs = []namedInput{
	{"yaml11-scalars", []byte("_version: 1.9.0\nhostname: yes\nhttp: {port: 0o80}\ndata_volume: 010\nharbor_admin_password: 1e3\ndatabase: {password: 1_000, max_idle_conns: 0x1f, max_open_conns: 1:30}\nclair: {updaters_interval: 1.5e+20}\njobservice: {max_job_workers: 2019-12-13}\nnotification: {webhook_job_max_retry: .inf}\nlog: {level: ~, local: {rotate_count: -0.0, rotate_size: 1234567.0, location: 0.0001}}\n")},
	{"quoted-and-lists", []byte("_version: 1.9.0\nhostname: \"it's\"\nhttp: {port: [1, 'a', \"b'c\", null, true]}\nharbor_admin_password: {a: 1, 'b': [x]}\nproxy: {http_proxy: 0, https_proxy: '', no_proxy: off, components: {core: 1, jobservice: 2}}\n")},
	{"components-string", []byte("_version: 1.9.0\nhostname: h\nproxy: {http_proxy: a, https_proxy: b, no_proxy: c, components: abc}\n")},
	{"components-null", []byte("_version: 1.9.0\nhostname: h\nproxy: {http_proxy: a, https_proxy: b, no_proxy: c, components: ~}\n")},
	{"redirect-null", []byte("_version: 1.9.0\nhostname: h\nstorage_service: {redirect: ~}\n")},
	{"storage-odd", []byte("_version: 1.9.0\nhostname: h\nstorage_service: {ca_bundle: ~, 5: {a: ~, b: [1]}, s3: {x: {y: z}}, redirect: {disabled: no}}\n")},
	{"http-empty-19", []byte("_version: 1.9.0\nhostname: h\nhttp: {}\n")},
	{"http-empty-18", []byte("_version: 1.8.0\nhostname: h\nhttp: {}\nlog: {level: a, rotate_count: 1, rotate_size: 2, location: /l}\n")},
	{"http-null-18", []byte("_version: 1.8.0\nhostname: h\nhttp:\nlog: {level: a, rotate_count: 1, rotate_size: 2, location: /l}\n")},
	{"chart-18", []byte("_version: 1.8.0\nhostname: h\nhttp: {port: 1}\nchart: {absolute_url: enabled}\nclair: {updaters_interval: 1, http_proxy: '', https_proxy: p}\nlog: {level: a, rotate_count: 1, rotate_size: 2, location: /l}\n")},
	{"clair-no-noproxy-18", []byte("_version: 1.8.0\nhostname: h\nhttp: {port: 1}\nclair: {updaters_interval: 1, http_proxy: '', https_proxy: p}\nlog: {level: a, rotate_count: 1, rotate_size: 2, location: /l}\n")},
	{"merge-keys", []byte("_version: 1.9.0\nbase: &b {port: 81, x: 1}\nhostname: h\nhttp:\n  <<: *b\n  port: 82\n")},
	{"duplicate-keys", []byte("_version: 1.9.0\nhostname: a\nhostname: b\n")},
	{"int-key-top", []byte("_version: 1.9.0\nhostname: h\n1: x\n")},
	{"self-key", []byte("_version: 1.9.0\nhostname: h\nself: x\n")},
	{"not-a-mapping", []byte("- _version\n- 1.9.0\n")},
	{"empty-file", []byte("")},
	{"no-version", []byte("hostname: h\n")},
	{"version-float", []byte("_version: 1.9\nhostname: h\n")},
	{"version-null", []byte("_version:\nhostname: h\n")},
	{"version-1.7", []byte("_version: 1.7.0\nhostname: h\n")},
	{"version-2.0", []byte("_version: 2.0.0\nhostname: h\n")},
	{"version-abc", []byte("_version: abc\nhostname: h\n")},
	{"non-ascii-dropped", []byte("_version: 1.9.0\nhostname: h\nsomething: caf\u00e9\n")},
	{"non-ascii-list", []byte("_version: 1.9.0\nhostname: h\nhttp: {port: [caf\u00e9]}\n")},
	{"multiline-value", []byte("_version: 1.9.0\nhostname: \"a\\nb: c\"\n")},
	{"value-hash", []byte("_version: 1.9.0\nhostname: '#x'\nharbor_admin_password: 'a: b'\n")},
	{"tab-after-value", []byte("_version: 1.9.0\nhostname: h\t# note\n")},
	{"tab-in-quotes-and-comments", []byte("_version: 1.9.0\nhostname: 'a\tb' # c\td\nharbor_admin_password: |\n  x\ty\n")},
	{"tab-rendered-by-1.9", []byte("_version: 1.8.0\nhostname: h\nhttp: {port: 1}\nlog: {level: \"\\t\", rotate_count: 1, rotate_size: 2, location: /l}\n")},
	{"ini-flat", []byte("_version: 1.9.0\nhostname: h\nbroken: [\n")},
	{"ini-sections", []byte("_version = 1.9.0\nHostName: h\n  more\n\n  after-blank\n; c\n[DEFAULT]\nharbor_admin_password: p\n[other]\ndata_volume: /x\n")},
	{"ini-duplicate", []byte("_version: 1.9.0\nhostname: h\nhostname: i\nx: [\n")},
	{"ini-no-version", []byte("hostname: h\nclair_db_password: x\nx: [\n")},
	{"ini-with-http", []byte("_version: 1.9.0\nhostname: h\nhttp:\n  port: 80\nx: [\n")},
	{"ini-crlf", []byte("_version: 1.9.0\r\nhostname: h\r\nx: [\r\n")},
	{"bad-int-tag", []byte("_version: 1.9.0\nhostname: !!int abc\n")},
	{"bad-date", []byte("_version: 1.9.0\nhostname: 2019-02-30\n")},
	{"merge-tag-as-value", []byte("_version: 1.9.0\nhostname: <<\n")},
	{"timestamps", []byte("_version: 1.9.0\nhostname: 2001-12-14t21:59:43.10-05:00\nharbor_admin_password: 2001-12-14 21:59:43.10\ndata_volume: 2002-12-14\n")},
}

// pyTrees reads files with PyYAML, in one python process.
func pyTrees(t *testing.T, files []string) [][]string {
	t.Helper()
	trees, err := harborreal.PyYAMLTrees(files)
	if err != nil {
		t.Fatal(err)
	}
	return trees
}

// migratorRun is where one run of either migrator left things.
type migratorRun struct {
	exit   int
	input  []byte
	out    []byte // harbor-cfg-out/harbor.yml, nil when absent
	log    string
	py2Bad bool
}

// landed says where the run left a result: "out" (harbor-cfg-out/harbor.yml), "input"
// (overwritten) or "nowhere".
func (r migratorRun) landed(orig []byte) string {
	switch {
	case len(r.out) > 0:
		return "out"
	case !bytes.Equal(r.input, orig):
		return "input"
	}
	return "nowhere"
}

func (r migratorRun) result() []byte {
	if len(r.out) > 0 {
		return r.out
	}
	return r.input
}

// runFakeInProcess is `docker run -v in:/harbor-migration/harbor-cfg/harbor.yml -v
// outdir:/harbor-migration/harbor-cfg-out -e SKIP_CONFIRM=y harbor-migrator:v1.10.0 --cfg up`
// of the fake, in-process.
func runFakeInProcess(t *testing.T, input []byte, mode harborreal.OutMode) migratorRun {
	e := newTestEnv(t, "v1.10.0")
	e.vars["SKIP_CONFIRM"] = "y"
	e.write(migratorInput, string(input))
	if err := os.MkdirAll(e.path(migratorOutputDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if mode == harborreal.OutFileExists {
		e.write(migratorOutput, "")
	}
	r := migratorRun{exit: e.run("migrator", "--cfg", "up"), log: e.output()}
	r.input, _ = os.ReadFile(e.path(migratorInput))
	if b, err := os.ReadFile(e.path(migratorOutput)); err == nil {
		r.out = b
	}
	return r
}

// compareWithReal runs every input through the real migrator and the fake, both modes, a few at
// a time, and reports each difference.
func compareWithReal(t *testing.T, inputs []namedInput) {
	compareRuns(t, inputs, func(t *testing.T, input []byte, mode harborreal.OutMode) migratorRun {
		return runFakeInProcess(t, input, mode)
	}, 3, true)
}

// compareRuns is the comparison shared by the in-process and the Docker differential tests.
func compareRuns(t *testing.T, inputs []namedInput, fake func(*testing.T, []byte, harborreal.OutMode) migratorRun, parallel int, exact bool) {
	type pair struct {
		name       string
		orig       []byte
		real, fake migratorRun
	}
	var pairs []pair
	var mu sync.Mutex
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, in := range inputs {
		for _, mode := range []harborreal.OutMode{harborreal.OutDirEmpty, harborreal.OutFileExists} {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				rr, err := harborreal.RunMigrator110(context.Background(), in.yaml, mode)
				if err != nil {
					t.Errorf("%s/%s: real migrator: %v", in.name, mode, err)
					return
				}
				real := migratorRun{exit: rr.Exit, input: rr.Input, out: rr.Out, log: rr.Log, py2Bad: rr.Py2Fails}
				f := fake(t, in.yaml, mode)
				mu.Lock()
				pairs = append(pairs, pair{in.name + "/" + mode.String(), in.yaml, real, f})
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	dir := t.TempDir()
	var files []string
	for i, p := range pairs {
		for j, b := range [][]byte{p.real.result(), p.fake.result()} {
			f := filepath.Join(dir, fmt.Sprintf("%d-%d.yml", i, j))
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	trees := pyTrees(t, files)
	exits := map[string]int{}
	for _, p := range pairs {
		exits[fmt.Sprintf("exit %d, %s, py2 fails %v", p.real.exit, p.real.landed(p.orig), p.real.py2Bad)]++
	}
	t.Logf("%d runs of the real migrator: %v", len(pairs), exits)
	for i, p := range pairs {
		r, f := p.real, p.fake
		wantExit := r.exit
		if r.py2Bad {
			wantExit = exitMigrateFailed // the image's Python 2 cannot write non-ASCII
		}
		if f.exit != wantExit {
			t.Errorf("%s: exit %d, the real migrator %d (py2 fails: %v)\nreal:\n%s\nfake:\n%s", p.name, f.exit, r.exit, r.py2Bad, r.log, f.log)
			continue
		}
		if got, want := f.landed(p.orig), r.landed(p.orig); r.py2Bad && got != "nowhere" || !r.py2Bad && got != want {
			t.Errorf("%s: the fake's result landed %s, the real one's %s (py2 fails: %v)", p.name, got, want, r.py2Bad)
			continue
		}
		if r.py2Bad {
			continue
		}
		if rt, ft := trees[2*i], trees[2*i+1]; strings.Join(rt, "\n") != strings.Join(ft, "\n") {
			t.Errorf("%s: the trees differ (- real, + fake):\n%s", p.name, harborreal.LineDiff(rt, ft))
			continue
		}
		if exact && strings.Join(harborreal.ValueLines(r.result()), "\n") != strings.Join(harborreal.ValueLines(f.result()), "\n") {
			t.Errorf("%s: the value lines differ (- real, + fake):\n%s", p.name, harborreal.LineDiff(harborreal.ValueLines(r.result()), harborreal.ValueLines(f.result())))
		}
	}
}
