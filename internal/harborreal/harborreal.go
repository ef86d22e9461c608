// Package harborreal runs Harbor's real code from ../shared/harbor-real (beside the module root)
// for differential tests: the 1.10 harbor-migrator's config step (migrator.py + cfg/) and the 2.x
// `prepare migrate` command. It is test support: no product package imports it.
//
// Everything runs on a private copy in a temporary directory, so the shared tree (read-only in
// CI) is never written to, and with Debian's /usr/bin/python3 (python3-jinja2, python3-yaml,
// python3-click, python3-packaging; `make tools` installs them).
//
// RunMigrator110 (and RunMigrator110To, with --version) is `docker run harbor-migrator:v1.10.0
// --cfg up` at its real mount points; RunPrepareMigrate is 2.x `prepare migrate`; LoadYAML reads
// a file as Harbor's Python does (PyYAML safe_load); Corpus is the harbor.yml corpus the
// differential tests (package harbor, the fake migrator) share; Corpus2x is the one for 2.x
// targets (1.9, 1.10 and every 2.x line's default, with administrators' edits).
//
// Where Python 3 here differs from the goharbor/harbor-migrator:v1.10.0 image, which runs
// Python 2.7 (the code is the same, it runs under both):
//
//   - Writing non-ASCII. Under Python 2, yaml.safe_load returns `unicode` for any string holding
//     a non-ASCII character, jinja2 renders to `unicode`, and cfg/migrator_1_*/__init__.py writes
//     the result with open(path, 'w').write(...), which encodes with the ASCII codec and raises
//     UnicodeEncodeError: the step fails and migrator.py exits 102. Python 3 writes UTF-8 and
//     succeeds. MigratorResult.Py2Fails marks exactly that case: the run succeeded here and what
//     it wrote holds a byte >= 0x80 (the templates themselves are ASCII, so such a byte came
//     from a value; non-ASCII only in comments is dropped by the templates and is harmless).
//   - Mapping order. Python 2.7 dicts are unordered, so `storage_service` backends come out in
//     hash order in the image and in file order here; the keys and values are the same.
//   - migrator.py's own `except Exception as ex: ... ex.message` only exists in Python 2; it is
//     not reached by `--cfg up`, whose work runs in a child process (os.system).
package harborreal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// debianPython is the interpreter that carries the Debian python3-* packages; the first python3
// on PATH may be another one without them.
const debianPython = "/usr/bin/python3"

// Root is the directory holding Harbor's real files: <module root>/../shared/harbor-real, or
// $BUNDLE_HARBOR_REAL when set.
func Root() (string, error) {
	if r := os.Getenv("BUNDLE_HARBOR_REAL"); r != "" {
		return checkRoot(r, "$BUNDLE_HARBOR_REAL")
	}
	mod, err := moduleRoot()
	if err != nil {
		return "", err
	}
	return checkRoot(filepath.Join(filepath.Dir(mod), "shared", "harbor-real"), "beside the module root")
}

func checkRoot(dir, where string) (string, error) {
	for _, need := range []string{"migrator-v1.10.0/migrator.py", "installer/v1.10.0/harbor.yml", "prepare"} {
		if _, err := os.Stat(filepath.Join(dir, need)); err != nil {
			return "", fmt.Errorf("Harbor's real code is missing: %s (%s) lacks %s; put the harbor-real tree at ../shared/harbor-real next to the bundle source or set BUNDLE_HARBOR_REAL",
				dir, where, need)
		}
	}
	return filepath.Abs(dir)
}

// moduleRoot walks up from the working directory (a package directory under `go test`) to the
// directory of bundle's go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/harborbundle/bundle\n")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("finding bundle's module root from %s: no go.mod of github.com/harborbundle/bundle above it; run from inside the source tree", dir)
		}
	}
}

// RequireRoot is Root for tests: it fails the test (never skips) when the tree is missing.
func RequireRoot(t testing.TB) string {
	t.Helper()
	r, err := Root()
	if err != nil {
		t.Fatalf("%v", err)
	}
	return r
}

var python struct {
	once sync.Once
	path string
	err  error
}

// Python is Debian's python3, checked to import what Harbor's code needs.
func Python() (string, error) {
	python.once.Do(func() {
		out, err := exec.Command(debianPython, "-c", "import jinja2, yaml, click, packaging").CombinedOutput()
		if err != nil {
			python.err = fmt.Errorf("%s cannot run Harbor's Python code (%v: %s); apt-get install python3-jinja2 python3-yaml python3-click python3-packaging (make tools)",
				debianPython, err, strings.TrimSpace(string(out)))
			return
		}
		python.path = debianPython
	})
	return python.path, python.err
}

// OutMode is what the harbor-cfg-out/ mount holds when the migrator starts.
type OutMode int

const (
	OutDirEmpty   OutMode = iota // an empty directory: the real migrator then overwrites the input
	OutFileExists                // a directory holding an empty harbor.yml: the result goes there
)

func (m OutMode) String() string {
	if m == OutFileExists {
		return "out-file-exists"
	}
	return "out-dir-empty"
}

// MigratorResult is what one run of the real 1.10 migrator did.
type MigratorResult struct {
	Exit  int    // the real migrator.py exit code
	Log   string // stdout+stderr
	Input []byte // the input file after the run (the real code may overwrite it)
	Out   []byte // harbor-cfg-out/harbor.yml after the run; nil when absent
	// Py2Fails: the run succeeded under Python 3 but what it wrote holds non-ASCII, which the
	// image's Python 2.7 cannot write (the real image would exit 102). See the package doc.
	Py2Fails bool
}

// Wrote reports whether the run wrote a migrated file (into Out or over Input).
func (r MigratorResult) Wrote() bool { return strings.Contains(r.Log, "Written new values to") }

// Result is the migrated file: Out when the migrator wrote there, else Input (overwritten or,
// when nothing was migrated, unchanged).
func (r MigratorResult) Result() []byte {
	if len(r.Out) > 0 {
		return r.Out
	}
	return r.Input
}

// RunMigrator110 runs `SKIP_CONFIRM=y python migrator.py --cfg up` of harbor-migrator v1.10.0 on
// a copy of it, with input at harbor-cfg/harbor.yml and harbor-cfg-out/ laid out as mode says:
// the mounts of `docker run goharbor/harbor-migrator:v1.10.0 --cfg up`. The error is for
// failures to run at all; a migrator that fails reports it in Exit.
func RunMigrator110(ctx context.Context, input []byte, mode OutMode) (MigratorResult, error) {
	return RunMigrator110To(ctx, input, mode, "")
}

// RunMigrator110To is RunMigrator110 with `--version target` (the config schema to migrate to,
// e.g. "1.9.0"); "" is the migrator's default, 1.10.0.
func RunMigrator110To(ctx context.Context, input []byte, mode OutMode, target string) (MigratorResult, error) {
	root, err := Root()
	if err != nil {
		return MigratorResult{}, err
	}
	py, err := Python()
	if err != nil {
		return MigratorResult{}, err
	}
	work, err := os.MkdirTemp("", "harborreal-migrator-")
	if err != nil {
		return MigratorResult{}, err
	}
	defer os.RemoveAll(work)
	if err := copyTree(filepath.Join(root, "migrator-v1.10.0"), work); err != nil {
		return MigratorResult{}, err
	}
	// The image's paths are fixed: point the copy's /harbor-migration at the work directory.
	mp := filepath.Join(work, "migrator.py")
	src, err := os.ReadFile(mp)
	if err != nil {
		return MigratorResult{}, err
	}
	if !bytes.Contains(src, []byte("/harbor-migration")) {
		return MigratorResult{}, errors.New("migrator.py no longer names /harbor-migration; the way it is run here needs updating")
	}
	if err := os.WriteFile(mp, bytes.ReplaceAll(src, []byte("/harbor-migration"), []byte(work)), 0o644); err != nil {
		return MigratorResult{}, err
	}
	in := filepath.Join(work, "harbor-cfg", "harbor.yml")
	outDir := filepath.Join(work, "harbor-cfg-out")
	out := filepath.Join(outDir, "harbor.yml")
	for _, d := range []string{filepath.Dir(in), outDir, filepath.Join(work, "backup"), filepath.Join(work, ".bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return MigratorResult{}, err
		}
	}
	if err := os.WriteFile(in, input, 0o644); err != nil {
		return MigratorResult{}, err
	}
	if mode == OutFileExists {
		if err := os.WriteFile(out, nil, 0o644); err != nil {
			return MigratorResult{}, err
		}
	}
	// `cfg up` shells out to `python ./cfg/run.py`: that `python` must be Debian's python3.
	bin := filepath.Join(work, ".bin")
	if err := os.Symlink(py, filepath.Join(bin, "python")); err != nil {
		return MigratorResult{}, err
	}
	args := []string{"migrator.py", "--cfg", "up"}
	if target != "" {
		args = []string{"migrator.py", "--cfg", "--version", target, "up"}
	}
	cmd := exec.CommandContext(ctx, "python", args...)
	cmd.Path = filepath.Join(bin, "python")
	cmd.Dir = work
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "SKIP_CONFIRM=y", "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "LANG=C.UTF-8", "HOME=" + work}
	log, runErr := cmd.CombinedOutput()
	res := MigratorResult{Log: string(log)}
	if res.Exit, err = exitCode(runErr); err != nil {
		return res, fmt.Errorf("running the real migrator: %w", err)
	}
	if res.Input, err = os.ReadFile(in); err != nil {
		return res, fmt.Errorf("reading the migrator's input back: %w", err)
	}
	if b, err := os.ReadFile(out); err == nil {
		res.Out = b
	} else if !errors.Is(err, fs.ErrNotExist) {
		return res, err
	}
	res.Py2Fails = res.Exit == 0 && res.Wrote() && !isASCII(res.Result())
	return res, nil
}

// PrepareResult is what one run of a 2.x `prepare migrate` did.
type PrepareResult struct {
	Exit int
	Log  string
	Out  []byte // the output file; nil when not written
}

// RunPrepareMigrate runs `python3 main.py migrate -i IN -o OUT [-t target]` of the prepare
// program of release (a folder of ../shared/harbor-real/prepare, e.g. "v2.15.2") on a copy of it.
// target "" leaves -t out (the release's own default).
func RunPrepareMigrate(ctx context.Context, release string, input []byte, target string) (PrepareResult, error) {
	root, err := Root()
	if err != nil {
		return PrepareResult{}, err
	}
	py, err := Python()
	if err != nil {
		return PrepareResult{}, err
	}
	src := filepath.Join(root, "prepare", release)
	if _, err := os.Stat(filepath.Join(src, "main.py")); err != nil {
		return PrepareResult{}, fmt.Errorf("no prepare program for %q in %s", release, filepath.Join(root, "prepare"))
	}
	work, err := os.MkdirTemp("", "harborreal-prepare-")
	if err != nil {
		return PrepareResult{}, err
	}
	defer os.RemoveAll(work)
	app := filepath.Join(work, "app")
	if err := copyTree(src, app); err != nil {
		return PrepareResult{}, err
	}
	in, out := filepath.Join(work, "in", "harbor.yml"), filepath.Join(work, "out", "harbor.yml")
	for _, d := range []string{filepath.Dir(in), filepath.Dir(out)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return PrepareResult{}, err
		}
	}
	if err := os.WriteFile(in, input, 0o644); err != nil {
		return PrepareResult{}, err
	}
	args := []string{"main.py", "migrate", "-i", in, "-o", out}
	if target != "" {
		args = append(args, "-t", target)
	}
	cmd := exec.CommandContext(ctx, py, args...)
	cmd.Dir = app
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "LANG=C.UTF-8", "HOME=" + work}
	log, runErr := cmd.CombinedOutput()
	res := PrepareResult{Log: string(log)}
	if res.Exit, err = exitCode(runErr); err != nil {
		return res, fmt.Errorf("running the real prepare migrate: %w", err)
	}
	if b, err := os.ReadFile(out); err == nil {
		res.Out = b
	} else if !errors.Is(err, fs.ErrNotExist) {
		return res, err
	}
	return res, nil
}

func exitCode(err error) (int, error) {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode(), nil
	default:
		return -1, err
	}
}

// copyTree copies regular files and directories of src into dst (created), skipping caches.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir() && d.Name() == "__pycache__":
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case !d.Type().IsRegular():
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// LoadYAML reads data with PyYAML's safe_load (what Harbor's Python code reads harbor.yml with)
// and returns it as JSON (non-JSON scalars as their Python str), or an error carrying PyYAML's
// message when it is not YAML.
func LoadYAML(ctx context.Context, data []byte) ([]byte, error) {
	py, err := Python()
	if err != nil {
		return nil, err
	}
	const script = "import sys, json, yaml\n" +
		"d = yaml.safe_load(sys.stdin.buffer.read())\n" +
		"sys.stdout.write(json.dumps(d, default=str, sort_keys=True))\n"
	cmd := exec.CommandContext(ctx, py, "-c", script)
	cmd.Stdin = bytes.NewReader(data)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		return nil, fmt.Errorf("PyYAML cannot read it: %s", msg)
	}
	return out, nil
}
