package roles

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/internal/harborreal"
)

// migrateBox is a container root for the fake 2.x prepare image of one release: the real
// migrations/ tree at /usr/src/app/migrations, as the image carries it.
type migrateBox struct {
	t      *testing.T
	root   string
	vars   map[string]string
	stdout bytes.Buffer
	stderr bytes.Buffer
}

func newMigrateBox(t *testing.T, tag string) *migrateBox {
	real := harborreal.RequireRoot(t)
	b := &migrateBox{t: t, root: t.TempDir()}
	app := b.path(prepareAppDir)
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(real, "prepare", tag, "migrations"), filepath.Join(app, "migrations")); err != nil {
		t.Fatal(err)
	}
	b.vars = map[string]string{"FAKEHARBOR_ROOT": b.root, "HARBOR_VERSION": tag, "HARBOR_CONFIG_VERSION": realDefaultTarget(t, real, tag)}
	return b
}

func (b *migrateBox) path(p string) string { return filepath.Join(b.root, p) }

func (b *migrateBox) write(p, data string, mode os.FileMode) {
	b.t.Helper()
	if err := os.MkdirAll(filepath.Dir(b.path(p)), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(b.path(p), []byte(data), mode); err != nil {
		b.t.Fatal(err)
	}
	if err := os.Chmod(b.path(p), mode); err != nil {
		b.t.Fatal(err)
	}
}

func (b *migrateBox) run(args ...string) int {
	b.stdout.Reset()
	b.stderr.Reset()
	env := &Env{Getenv: func(k string) string { return b.vars[k] }, Stdout: &b.stdout, Stderr: &b.stderr}
	return runPrepareMigrate(env, args)
}

func (b *migrateBox) tmps() []string {
	m, _ := filepath.Glob(b.path(prepareAppDir + "/harbor.yml.*.tmp"))
	return m
}

// umask is the process's, read without changing it (tests run in parallel).
func umask(t *testing.T) os.FileMode {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "Umask:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				t.Fatal(err)
			}
			return os.FileMode(n)
		}
	}
	t.Fatal("no Umask in /proc/self/status")
	return 0
}

func realDefault(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harborreal.RequireRoot(t), "installer", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A 1.10 harbor.yml walks every step to 2.15.0: one "migrating to" line per step, the
// output written, the tmp files of the cwd removed, and the output's mode that of the tmp
// file shutil.copy copies it from (0666 less the umask), not the mode it had.
func TestPrepareMigrateWalksEveryStep(t *testing.T) {
	b := newMigrateBox(t, "v2.15.2")
	b.write("/data/in.yml", realDefault(t, "v1.10.0/harbor.yml"), 0o644)
	b.write("/data/out.yml", "old", 0o600)
	b.write(prepareAppDir+"/harbor.yml.stale.tmp", "left by an earlier run", 0o644)
	if code := b.run("-i", "/data/in.yml", "-o", "/data/out.yml"); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, b.stdout.String(), b.stderr.String())
	}
	var want []string
	for _, v := range []string{"2.0.0", "2.1.0", "2.2.0", "2.3.0", "2.4.0", "2.5.0", "2.6.0", "2.7.0", "2.8.0", "2.9.0", "2.10.0", "2.11.0", "2.12.0", "2.13.0", "2.14.0", "2.15.0"} {
		want = append(want, "migrating to version "+v)
	}
	want = append(want, "Written new values to /data/out.yml")
	if got := strings.Split(strings.TrimSpace(b.stdout.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stdout:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	out, err := os.ReadFile(b.path("/data/out.yml"))
	if err != nil || !strings.Contains(string(out), "\n_version: 2.15.0") {
		t.Errorf("output not a 2.15.0 harbor.yml (%v):\n%.300s", err, out)
	}
	st, _ := os.Stat(b.path("/data/out.yml"))
	if want := 0o666 &^ umask(t); st.Mode().Perm() != want {
		t.Errorf("output mode %v, want %v (the tmp file's, as shutil.copy sets it)", st.Mode().Perm(), want)
	}
	if left := b.tmps(); len(left) != 0 {
		t.Errorf("tmp files left in the cwd: %v", left)
	}
	if in, _ := os.ReadFile(b.path("/data/in.yml")); !strings.Contains(string(in), "_version: 1.10.0") {
		t.Error("the input was changed although -o was given")
	}
}

// Without -o the input is the output; with /hostfs mounted every path is read under it.
func TestPrepareMigrateHostfsAndDefaultOutput(t *testing.T) {
	b := newMigrateBox(t, "v2.9.5")
	b.write("/hostfs/srv/harbor/harbor.yml", realDefault(t, "v2.8.6/harbor.yml.tmpl"), 0o640)
	if code := b.run("--input=/srv/harbor/harbor.yml"); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, b.stdout.String(), b.stderr.String())
	}
	if got := b.stdout.String(); got != "migrating to version 2.9.0\nWritten new values to /srv/harbor/harbor.yml\n" {
		t.Errorf("stdout %q", got)
	}
	out, _ := os.ReadFile(b.path("/hostfs/srv/harbor/harbor.yml"))
	if !strings.Contains(string(out), "_version: 2.9.0") {
		t.Errorf("input not migrated in place under /hostfs:\n%.300s", out)
	}
}

// The messages and exit codes of the real migrate.py and of click, each at its place: the
// target is checked before the input is read; a failing render leaves its tmp file (empty)
// and writes no output.
func TestPrepareMigrateRefusals(t *testing.T) {
	b := newMigrateBox(t, "v2.15.2")
	b.write("/in/v18.yml", "_version: 1.8.0\nhostname: h\n", 0o644)
	b.write("/in/same.yml", "_version: 2.15.0\nhostname: h\n", 0o644)
	b.write("/in/bare.yml", "_version: 2.14.0\n", 0o644)
	for _, c := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{nil, 2, "", "Usage: main.py migrate [OPTIONS]\nTry 'main.py migrate --help' for help.\n\nError: Missing option '-i' / '--input'.\n"},
		{[]string{"-i"}, 2, "", "Error: Option '-i' requires an argument.\n"},
		{[]string{"-x", "1", "-i", "a"}, 2, "", "Error: No such option: -x\n"},
		{[]string{"-i", "a", "b"}, 2, "", "Error: Got unexpected extra argument (b)\n"},
		{[]string{"-i", "/missing.yml", "-t", "2.0"}, 255, "target version 2.0 not supported\n", ""},
		{[]string{"-i", "/missing.yml"}, 1, "", "FileNotFoundError: [Errno 2] No such file or directory: '" + b.path("/missing.yml") + "'\n"},
		{[]string{"-i", "/in/v18.yml"}, 255, "the version 1.8.0 not supported, make sure the version in input file above 1.8.0\n", ""},
		{[]string{"-i", "/in/same.yml"}, 0, "Version of input harbor.yml is identical to target 2.15.0, no need to upgrade\n", ""},
		{[]string{"-i", "/in/bare.yml", "-o", "/out.yml"}, 1, "migrating to version 2.15.0\n", "jinja2.exceptions.UndefinedError: 'hostname' is undefined\n"},
	} {
		code := b.run(c.args...)
		if code != c.code || b.stdout.String() != c.stdout || !strings.HasSuffix(b.stderr.String(), c.stderr) {
			t.Errorf("migrate %q: exit %d, stdout %q, stderr %q; want %d, %q, ...%q", c.args, code, b.stdout.String(), b.stderr.String(), c.code, c.stdout, c.stderr)
		}
	}
	if _, err := os.Stat(b.path("/out.yml")); err == nil {
		t.Error("a failed render wrote the output")
	}
	if left := b.tmps(); len(left) != 1 || filepath.Base(left[0]) != "harbor.yml.2.15.0.tmp" {
		t.Errorf("tmp files after the failed render: %v, want the real program's harbor.yml.2.15.0.tmp", left)
	}
}

// Without the baked migrations/ the fake cannot be the real program: it fails, never guesses.
func TestPrepareMigrateNeedsMigrations(t *testing.T) {
	b := newMigrateBox(t, "v2.15.2")
	os.Remove(b.path(prepareAppDir + "/migrations"))
	if code := b.run("-i", "/x.yml"); code != 1 || !strings.Contains(b.stderr.String(), "No module named 'migrations'") {
		t.Errorf("exit %d, stderr %q", code, b.stderr.String())
	}
}

// click's side (help, usage errors, suggestions for a mistyped option, which error wins) as
// the real main.py prints it, on the first release and on the last (their help texts differ).
func TestPrepareMigrateClickMatchesReal(t *testing.T) {
	root := harborreal.RequireRoot(t)
	py, err := harborreal.Python()
	if err != nil {
		t.Fatal(err)
	}
	argLists := [][]string{
		{"--help"}, {}, {"-i"}, {"--inptu", "x"}, {"--outptu", "x", "-i", "a"}, {"--tar", "x"}, {"--i", "x"},
		{"-x"}, {"-i", "a", "b", "c"}, {"-i", "a", "-t"}, {"--input"}, {"--hel"}, {"--put", "x"}, {"b", "--help"},
		{"--help", "-x"}, {"--at", "x"}, {"--pt", "x"}, {"extra"}, {"-ia", "-t9", "--output=o"}, {"-i", "a", "--", "-t"}, {"--target=9", "--input", "--help"},
	}
	for _, tag := range []string{"v2.0.6", "v2.15.2"} {
		b := newMigrateBox(t, tag)
		in, _ := json.Marshal(argLists)
		cmd := exec.Command(py, "-c", clickBatchProgram)
		cmd.Dir = filepath.Join(root, "prepare", tag)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1", "LANG=C.UTF-8", "COLUMNS=80"}
		cmd.Stdin = bytes.NewReader(in)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("running the real main.py: %v", err)
		}
		var reals []struct {
			Exit     int
			Out, Err string
		}
		if err := json.Unmarshal(out, &reals); err != nil || len(reals) != len(argLists) {
			t.Fatalf("the real runs: %v", err)
		}
		for i, args := range argLists {
			real := reals[i]
			fcode := b.run(args...)
			fout, ferr := b.stdout.String(), b.stderr.String()
			if real.Exit == 1 { // got past click to the missing input file: only the exit code compares
				real.Out, real.Err, fout, ferr = "", "", "", ""
			}
			if fcode != real.Exit || fout != real.Out || ferr != real.Err {
				t.Errorf("%s migrate %q:\nreal exit %d stdout %q stderr %q\nfake exit %d stdout %q stderr %q",
					tag, args, real.Exit, real.Out, real.Err, fcode, fout, ferr)
			}
		}
	}
}

// clickBatchProgram runs `main.py migrate ARGS` for each argument list in one process,
// stdout and stderr apart.
const clickBatchProgram = `
import sys, os, io, json, traceback, contextlib
sys.path.insert(0, os.getcwd())
from main import cli
res = []
for args in json.load(sys.stdin):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cli.main(args=['migrate'] + args, prog_name='main.py')
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
    res.append({'exit': code & 0xff, 'out': out.getvalue(), 'err': err.getvalue()})
print(json.dumps(res))
`
