package roles

import (
	"bytes"
	"context"
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

// The fake `prepare migrate` against the real one of every 2.x line (../shared/harbor-real/
// prepare/<tag>, run with Debian's python3): same exit code, same output written or not, same
// last line of the log (the message, or the exception that ended it), and the migrated file
// equal byte for byte (so its PyYAML tree and every value line too). The fake runs in-process
// over the same real migrations/ tree the image carries.
//
// By default a sample: every third corpus file, each on one release chosen round-robin, a few
// intermediate targets, and the edge cases on three releases. BUNDLE_DIFF2X_FULL=1 runs every file on every release.

type diff2xCase struct {
	name   string
	yaml   []byte
	target string // "" = the release's default
}

func prepareTags(t *testing.T, root string) []string {
	ents, err := os.ReadDir(filepath.Join(root, "prepare"))
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(root, "prepare", e.Name(), "migrations", "__init__.py")); err == nil {
			tags = append(tags, e.Name())
		}
	}
	sort.Slice(tags, func(i, j int) bool { return releaseLess(tags[i], tags[j]) })
	if len(tags) != 16 {
		t.Fatalf("want the 16 2.x prepare programs under %s/prepare, found %v", root, tags)
	}
	return tags
}

func releaseLess(a, b string) bool {
	x, _ := parsePEP440(strings.TrimPrefix(a, "v"))
	y, _ := parsePEP440(strings.TrimPrefix(b, "v"))
	return x.less(y)
}

var migrateDefaultRe = regexp.MustCompile(`'--target', default='([^']+)'`)

// realDefaultTarget is the -t default hard-coded in that release's commands/migrate.py: what
// the image's HARBOR_CONFIG_VERSION carries.
func realDefaultTarget(t *testing.T, root, tag string) string {
	b, err := os.ReadFile(filepath.Join(root, "prepare", tag, "commands", "migrate.py"))
	if err != nil {
		t.Fatal(err)
	}
	m := migrateDefaultRe.FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s: no -t default in commands/migrate.py", tag)
	}
	return string(m[1])
}

// edge2x are inputs at the edges of the real program's rules.
var edge2x = []diff2xCase{
	{"empty", []byte(""), ""},
	{"list", []byte("- a\n"), ""},
	{"not-yaml", []byte("a: [\n"), ""},
	{"no-version", []byte("hostname: x\n"), ""},
	{"version-1.8", []byte("_version: 1.8.0\nhostname: x\n"), ""},
	{"version-float", []byte("_version: 2.0\n"), ""},
	{"version-bad", []byte("_version: abc\n"), ""},
	{"version-future", []byte("_version: 9.0.0\n"), ""},
	{"version-rc", []byte("_version: 1.9.0-rc1\n"), ""},
	{"target-bad", []byte("_version: 2.0.0\n"), "2.0"},
	{"only-version-1.10", []byte("_version: 1.10.0\n"), ""},
	{"only-version-2.0", []byte("_version: 2.0.0\nhostname: h\n"), ""},
	{"https-string", []byte("_version: 2.9.0\nhttps: yes-please\nhostname: h\n"), ""},
	{"ssl-internal-none", []byte("_version: 2.9.0\nhttps: {port: 443, certificate: c, private_key: k}\ninternal_tls: {enabled: true, strong_ssl_ciphers: false}\n"), ""},
}

func TestPrepareMigrateMatchesReal(t *testing.T) {
	root := harborreal.RequireRoot(t)
	if _, err := harborreal.Python(); err != nil {
		t.Fatalf("the real prepare needs Debian's python3 with jinja2/yaml/click/packaging: %v", err)
	}
	corpus, err := harborreal.Corpus2x()
	if err != nil {
		t.Fatal(err)
	}
	if len(corpus) < 40 {
		t.Fatalf("2.x corpus has %d files, want at least 40", len(corpus))
	}
	tags := prepareTags(t, root)
	full := os.Getenv("BUNDLE_DIFF2X_FULL") != ""

	type run struct {
		tag string
		c   diff2xCase
	}
	var runs []run
	for i, c := range corpus {
		if !full && i%3 != 0 {
			continue // the sample: every third file (44 of 131), each on one release
		}
		for j, tag := range tags {
			if full || j == (i/3)%len(tags) {
				runs = append(runs, run{tag, diff2xCase{c.Name, c.YAML, ""}})
			}
		}
		// Intermediate targets: every step of the chain is a target somewhere.
		if !full && i%15 == 0 {
			tag := tags[len(tags)-1]
			runs = append(runs, run{tag, diff2xCase{c.Name + "@2." + fmt.Sprint(i%16) + ".0", c.YAML, "2." + fmt.Sprint(i%16) + ".0"}})
		}
	}
	edgeTags := []string{tags[0], tags[8], tags[len(tags)-1]} // 2.0's old search, 2.1-2.9's read_conf, 2.10+'s
	if full {
		edgeTags = tags
	}
	for _, tag := range edgeTags {
		for _, c := range edge2x {
			runs = append(runs, run{tag, c})
		}
	}

	start := time.Now()
	var mu sync.Mutex
	equal, wrote := 0, 0
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		sem <- struct{}{}
		go func(r run) {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			real, err := harborreal.RunPrepareMigrate(ctx, r.tag, r.c.yaml, r.c.target)
			if err != nil {
				t.Errorf("%s %s: %v", r.tag, r.c.name, err)
				return
			}
			fake := runFakePrepareMigrate(t, root, r.tag, r.c.yaml, r.c.target)
			if msg := diffPrepareRuns(real, fake); msg != "" {
				t.Errorf("%s on %s (target %q): fake differs from the real prepare migrate:\n%s", r.c.name, r.tag, r.c.target, msg)
				return
			}
			mu.Lock()
			equal++
			if real.Out != nil {
				wrote++
			}
			mu.Unlock()
		}(r)
	}
	wg.Wait()
	t.Logf("%d runs (%d corpus files + %d edge cases, %d releases, full=%v): %d equal, %d of them wrote a file, in %s",
		len(runs), len(corpus), len(edge2x), len(tags), full, equal, wrote, time.Since(start).Round(time.Second))
	if wrote < len(runs)/2 {
		t.Errorf("only %d of %d runs migrated a file: the corpus does not exercise the templates", wrote, len(runs))
	}
}

// fakeRun is what the in-process fake did.
type fakeRun struct {
	exit           int
	stdout, stderr string
	out            []byte
}

func runFakePrepareMigrate(t *testing.T, root, tag string, input []byte, target string) fakeRun {
	dir := t.TempDir()
	app := filepath.Join(dir, "usr", "src", "app")
	for _, d := range []string{app, filepath.Join(dir, "in"), filepath.Join(dir, "out")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The image's copy of the release's migrations/ (H1 copies it at image build).
	if err := os.Symlink(filepath.Join(root, "prepare", tag, "migrations"), filepath.Join(app, "migrations")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "in", "harbor.yml"), input, 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"FAKEHARBOR_ROOT": dir, "HARBOR_VERSION": tag, "HARBOR_CONFIG_VERSION": realDefaultTarget(t, root, tag)}
	var stdout, stderr bytes.Buffer
	env := &Env{Getenv: func(k string) string { return vars[k] }, Stdout: &stdout, Stderr: &stderr}
	args := []string{"-i", "/in/harbor.yml", "-o", "/out/harbor.yml"}
	if target != "" {
		args = append(args, "-t", target)
	}
	r := fakeRun{exit: runPrepareMigrate(env, args), stdout: stdout.String(), stderr: stderr.String()}
	if b, err := os.ReadFile(filepath.Join(dir, "out", "harbor.yml")); err == nil {
		r.out = b
	}
	return r
}

var writtenRe = regexp.MustCompile(`Written new values to .*`)

// lastLine is the log's last line with the output path left out.
func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		s = s[i+1:]
	}
	s = writtenRe.ReplaceAllString(s, "Written new values to OUT")
	// PyYAML's exception class (ScannerError, ParserError...), which yaml.v3 does not tell apart,
	// is the one difference the fake keeps: same exit code, same place in the program.
	s = regexp.MustCompile(`'[A-Za-z]+Error' object has no attribute 'write'`).ReplaceAllString(s, "'<PyYAML error>' object has no attribute 'write'")
	// The file paths differ (a temporary dir for the real run, the container's for the fake).
	return regexp.MustCompile(`'/[^']*/(in|out)/harbor.yml'`).ReplaceAllString(s, "'$1'")
}

func diffPrepareRuns(real harborreal.PrepareResult, fake fakeRun) string {
	var b strings.Builder
	if real.Exit != fake.exit {
		fmt.Fprintf(&b, "exit: real %d, fake %d\n", real.Exit, fake.exit)
	}
	if rl, fl := lastLine(real.Log), lastLine(fake.stdout+fake.stderr); rl != fl {
		fmt.Fprintf(&b, "last line: real %q, fake %q\n", rl, fl)
	}
	if (real.Out == nil) != (fake.out == nil) {
		fmt.Fprintf(&b, "output written: real %v, fake %v\n", real.Out != nil, fake.out != nil)
	}
	if !bytes.Equal(real.Out, fake.out) {
		rl, fl := harborreal.ValueLines(real.Out), harborreal.ValueLines(fake.out)
		fmt.Fprintf(&b, "output differs (value lines equal: %v)\n%s", strings.Join(rl, "\n") == strings.Join(fl, "\n"), harborreal.LineDiff(rl, fl))
	}
	if b.Len() > 0 {
		fmt.Fprintf(&b, "real log:\n%s\nfake stdout:\n%s\nfake stderr:\n%s", tail(real.Log), fake.stdout, tail(fake.stderr))
	}
	return b.String()
}

func tail(s string) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > 4 {
		l = l[len(l)-4:]
	}
	return strings.Join(l, "\n")
}
