package roles

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
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
// By default every corpus file once, on one of the releases newer than its own (round-robin),
// every third file also on the newest release with an intermediate target (-t), and the edge
// cases on every release. BUNDLE_DIFF2X_FULL=1 runs every file on every release and target.
// The real program runs in one python3 process per release (realBatchProgram), held to the
// command line by TestRealPrepareMigrateBatchIsTheCLI.

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
	defaults := map[string]string{}
	for _, tag := range tags {
		defaults[tag] = realDefaultTarget(t, root, tag)
	}
	full := os.Getenv("BUNDLE_DIFF2X_FULL") != ""

	runs := map[string][]diff2xCase{} // by release
	nruns := 0
	add := func(tag string, c diff2xCase) {
		runs[tag] = append(runs[tag], c)
		nruns++
	}
	for i, c := range corpus {
		// The lines a file of this base release upgrades to: their config version is newer.
		base, _, _ := strings.Cut(c.Name, "-")
		bv, _ := parsePEP440(strings.TrimPrefix(base, "v"))
		bv.release = bv.release[:min(2, len(bv.release))]
		var newer []string
		for _, tag := range tags {
			if tv, _ := parsePEP440(defaults[tag]); bv.less(tv) {
				newer = append(newer, tag)
			}
		}
		switch {
		case full:
			for _, tag := range tags {
				add(tag, diff2xCase{c.Name, c.YAML, ""})
			}
		case len(newer) == 0:
			add(tags[len(tags)-1], diff2xCase{c.Name, c.YAML, ""}) // identical: no need to upgrade
		default:
			add(newer[i%len(newer)], diff2xCase{c.Name, c.YAML, ""})
		}
		// Intermediate targets of the newest release: every step of the chain ends a run.
		if len(newer) > 1 && (full || i%3 == 0) {
			target := defaults[newer[(i/3)%(len(newer)-1)]]
			add(tags[len(tags)-1], diff2xCase{c.Name + "@" + target, c.YAML, target})
		}
	}
	for _, tag := range tags {
		for _, c := range edge2x {
			add(tag, c)
		}
	}

	start := time.Now()
	var mu sync.Mutex
	equal, wrote := 0, 0
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for _, tag := range tags {
		wg.Add(1)
		sem <- struct{}{}
		go func(tag string, cases []diff2xCase) {
			defer wg.Done()
			defer func() { <-sem }()
			reals, err := runRealPrepareMigrateBatch(root, tag, cases)
			if err != nil {
				t.Errorf("%s: %v", tag, err)
				return
			}
			for i, c := range cases {
				fake := runFakePrepareMigrate(t, root, tag, c.yaml, c.target)
				if msg := diffPrepareRuns(reals[i], fake); msg != "" {
					t.Errorf("%s on %s (target %q): fake differs from the real prepare migrate:\n%s", c.name, tag, c.target, msg)
					continue
				}
				mu.Lock()
				equal++
				if reals[i].Out != nil {
					wrote++
				}
				mu.Unlock()
			}
		}(tag, runs[tag])
	}
	wg.Wait()
	t.Logf("%d runs (%d corpus files + %d edge cases, %d releases, full=%v): %d equal, %d of them wrote a file, in %s",
		nruns, len(corpus), len(edge2x), len(tags), full, equal, wrote, time.Since(start).Round(time.Second))
	if wrote < len(corpus)/2 {
		t.Errorf("only %d of %d runs migrated a file: the corpus does not exercise the templates", wrote, nruns)
	}
}

// realBatchProgram runs the real `main.py migrate` once per case in one Python process (the
// imports dominate a run's time): click's own main(), its SystemExit as the exit status, an
// escaping exception printed as the interpreter prints it, with status 1.
const realBatchProgram = `
import sys, os, io, json, traceback, contextlib
sys.path.insert(0, os.getcwd())
from main import cli
res = []
for args in json.load(sys.stdin):
    buf = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        try:
            cli.main(args=args, prog_name='main.py')
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
    res.append({'exit': code & 0xff, 'log': buf.getvalue()})
print(json.dumps(res))
`

// runRealPrepareMigrateBatch runs each case as harborreal.RunPrepareMigrate does (input and
// output in their own directory, a copy of the program as the cwd), in one process.
func runRealPrepareMigrateBatch(root, tag string, cases []diff2xCase) ([]harborreal.PrepareResult, error) {
	py, err := harborreal.Python()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "diff2x-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	app := filepath.Join(work, "app")
	if err := exec.Command("cp", "-r", filepath.Join(root, "prepare", tag), app).Run(); err != nil {
		return nil, fmt.Errorf("copying the prepare program: %w", err)
	}
	var argv [][]string
	for i, c := range cases {
		dir := filepath.Join(work, fmt.Sprint(i))
		for _, d := range []string{filepath.Join(dir, "in"), filepath.Join(dir, "out")} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, err
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "in", "harbor.yml"), c.yaml, 0o644); err != nil {
			return nil, err
		}
		a := []string{"migrate", "-i", filepath.Join(dir, "in", "harbor.yml"), "-o", filepath.Join(dir, "out", "harbor.yml")}
		if c.target != "" {
			a = append(a, "-t", c.target)
		}
		argv = append(argv, a)
	}
	in, _ := json.Marshal(argv)
	cmd := exec.Command(py, "-c", realBatchProgram)
	cmd.Dir = app
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1", "LANG=C.UTF-8", "HOME=" + work}
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("running the real prepare migrate: %v\n%s", err, stderr.String())
	}
	var res []struct {
		Exit int
		Log  string
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(cases) {
		return nil, fmt.Errorf("the real runs' results: %v (%d for %d cases)", err, len(res), len(cases))
	}
	var prs []harborreal.PrepareResult
	for i, r := range res {
		pr := harborreal.PrepareResult{Exit: r.Exit, Log: r.Log}
		if b, err := os.ReadFile(filepath.Join(work, fmt.Sprint(i), "out", "harbor.yml")); err == nil {
			pr.Out = b
		}
		prs = append(prs, pr)
	}
	return prs, nil
}

// The batch runner is the real program as its command line runs it: same answers as
// harborreal.RunPrepareMigrate (a python3 process per run) on cases of every outcome.
func TestRealPrepareMigrateBatchIsTheCLI(t *testing.T) {
	root := harborreal.RequireRoot(t)
	corpus, err := harborreal.Corpus2x()
	if err != nil {
		t.Fatal(err)
	}
	cases := []diff2xCase{{corpus[0].Name, corpus[0].YAML, ""}, {corpus[1].Name, corpus[1].YAML, "2.3.0"}}
	for _, name := range []string{"not-yaml", "version-1.8", "target-bad", "only-version-2.0", "https-string"} {
		for _, c := range edge2x {
			if c.name == name {
				cases = append(cases, c)
			}
		}
	}
	batch, err := runRealPrepareMigrateBatch(root, "v2.10.3", cases)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		cli, err := harborreal.RunPrepareMigrate(context.Background(), "v2.10.3", c.yaml, c.target)
		if err != nil {
			t.Fatal(err)
		}
		if cli.Exit != batch[i].Exit || !bytes.Equal(cli.Out, batch[i].Out) || lastLine(cli.Log) != lastLine(batch[i].Log) {
			t.Errorf("%s: command line exit %d last line %q wrote %v; batch exit %d last line %q wrote %v",
				c.name, cli.Exit, lastLine(cli.Log), cli.Out != nil, batch[i].Exit, lastLine(batch[i].Log), batch[i].Out != nil)
		}
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
	// Every message before it too: what click.echo printed (the real log holds the traceback
	// after it when the program died).
	realEcho, _, _ := strings.Cut(real.Log, "Traceback (most recent call last):")
	if re, fe := writtenRe.ReplaceAllString(realEcho, "W"), writtenRe.ReplaceAllString(fake.stdout, "W"); re != fe {
		fmt.Fprintf(&b, "messages: real %q, fake %q\n", re, fe)
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
