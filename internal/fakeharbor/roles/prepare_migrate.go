package roles

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// `python3 main.py migrate -i IN [-o OUT] [-t TARGET]` of the 2.x prepare image, as
// commands/migrate.py and utils/migration.py of the real prepare program do it. The migration
// steps are the real ones: the image carries the release's migrations/ tree (copied at image
// build from ../shared/harbor-real/prepare/<tag>/migrations/ to /usr/src/app/migrations/), and
// this file reads their __init__.py (accept_versions, revision, down_revision[s], the Python
// fix-ups some steps make before rendering) and renders their harbor.yml.jinja with the jinja2
// subset of jinja_*.go. The parts of the real program the image does not carry as data are
// below, each held to that program by differential2x_test.go.

// prepareAppDir is the real image's WORKDIR: main.py's directory, the cwd where the steps
// write their harbor.yml.<rev>.tmp files.
const prepareAppDir = "/usr/src/app"

// readConfSSLFrom is the first release whose utils/migration.py read_conf adds
// `strong_ssl_ciphers` (from https, else internal_tls) to every config it reads.
const readConfSSLFrom = "2.10.0"

// migrateOpts are the click options of the migrate command.
type migrateOpts struct {
	input, output, target string
	hasInput              bool
}

// pyExit is how a run of the real program ends: a message on stdout (click.echo) and an exit
// code, or a Python exception (traceback on stderr, exit 1).
type pyExit struct {
	code int
	err  error
}

func runPrepareMigrate(env *Env, args []string) int {
	o, code, done := parseMigrateOpts(env, args)
	if done {
		return code
	}
	res := prepareMigrate(env, o)
	if res.err != nil {
		var unsupported *jinjaUnsupportedError
		if errors.As(res.err, &unsupported) {
			fmt.Fprintln(env.Stderr, res.err)
			return 1
		}
		fmt.Fprintf(env.Stderr, "Traceback (most recent call last):\n  File \"%s/main.py\", line 15, in <module>\n    cli()\n%s\n", prepareAppDir, res.err)
		return 1
	}
	return res.code
}

func pyErr(typ, format string, args ...any) pyExit {
	return pyExit{1, &pyException{typ, fmt.Sprintf(format, args...)}}
}

// prepareMigrate is commands/migrate.py's migrate().
func prepareMigrate(env *Env, o migrateOpts) pyExit {
	echo := func(format string, args ...any) { fmt.Fprintf(env.Stdout, format+"\n", args...) }
	migrations := env.Path(prepareAppDir + "/migrations")
	accept, err := acceptVersions(migrations)
	if err != nil {
		return pyExit{1, err}
	}
	if !accept[o.target] {
		echo("target version %s not supported", o.target)
		return pyExit{code: 255}
	}
	output := o.output
	if output == "" {
		output = o.input
	}
	inputPath, outputPath := hostRealpath(env, o.input), hostRealpath(env, output)

	configs, ex := readConfV(env, inputPath)
	if ex != nil {
		return *ex
	}
	if configs.kind != pyDict {
		return pyErr("AttributeError", "'%s' object has no attribute 'get'", pyTypeName(configs))
	}
	inputVersion, ok := configs.get("_version")
	if !ok || inputVersion.kind != pyStr {
		name := "NoneType"
		if ok {
			name = pyTypeName(inputVersion)
		}
		return pyErr("TypeError", "expected string or bytes-like object, got '%s'", name)
	}
	v, ok := parsePEP440(inputVersion.s)
	if !ok {
		return pyErr("packaging.version.InvalidVersion", "Invalid version: '%s'", inputVersion.s)
	}
	if min, _ := parsePEP440("1.9.0"); v.less(min) {
		echo("the version %s not supported, make sure the version in input file above 1.8.0", inputVersion.s)
		return pyExit{code: 255}
	}
	if inputVersion.s == o.target {
		echo("Version of input harbor.yml is identical to target %s, no need to upgrade", inputVersion.s)
		return pyExit{code: 0}
	}
	steps, ex := migrationPath(migrations, inputVersion.s, o.target)
	if ex != nil {
		return *ex
	}
	cwd := env.Path(prepareAppDir)
	current := inputPath
	for _, s := range steps {
		tmp := filepath.Join(cwd, "harbor.yml."+s.revision+".tmp")
		echo("migrating to version %s", s.revision)
		if ex := s.migrate(env, current, tmp); ex != nil {
			return *ex
		}
		current = tmp
	}
	if ex := shutilCopy(current, outputPath); ex != nil {
		return *ex
	}
	echo("Written new values to %s", output)
	tmps, _ := filepath.Glob(filepath.Join(cwd, "harbor.yml.*.tmp"))
	for _, t := range tmps {
		os.Remove(t)
	}
	return pyExit{code: 0}
}

// hostRealpath is utils/misc.py get_realpath: under /hostfs when the host's root is mounted
// there, else the path as given (relative to the cwd).
func hostRealpath(env *Env, p string) string {
	if hostfs := env.Path("/hostfs"); isDir(hostfs) {
		return filepath.Join(hostfs, strings.TrimLeft(p, "/"))
	}
	if filepath.IsAbs(p) {
		return env.Path(p)
	}
	return filepath.Join(env.Path(prepareAppDir), p)
}

// openError is the OSError open() raises.
func openError(err error, path string) *pyExit {
	var ex pyExit
	switch {
	case errors.Is(err, fs.ErrNotExist):
		ex = pyErr("FileNotFoundError", "[Errno 2] No such file or directory: '%s'", path)
	case errors.Is(err, fs.ErrPermission):
		ex = pyErr("PermissionError", "[Errno 13] Permission denied: '%s'", path)
	case isDir(path):
		ex = pyErr("IsADirectoryError", "[Errno 21] Is a directory: '%s'", path)
	default:
		ex = pyErr("OSError", "%v", err)
	}
	return &ex
}

// readConfV is utils/migration.py read_conf. Any exception inside its try block (PyYAML's, or
// the 2.10+ strong_ssl_ciphers lines' AttributeError) lands in `click.echo(msg, e)`, which
// passes the exception as the file to write to: the real program dies of an AttributeError.
func readConfV(env *Env, path string) (*pyVal, *pyExit) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, openError(err, path)
	}
	echoCrash := func(exc string) (*pyVal, *pyExit) {
		ex := pyErr("AttributeError", "'%s' object has no attribute 'write'", exc)
		return nil, &ex
	}
	d, err := pyLoad(data)
	if err != nil {
		return echoCrash("YAMLError")
	}
	if !releaseAtLeast(env.Version(), readConfSSLFrom) {
		return d, nil
	}
	// https_config = d.get("https") or {}; internal_tls = d.get('internal_tls') or {}
	// d['strong_ssl_ciphers'] = https_config.get('strong_ssl_ciphers') or internal_tls.get('strong_ssl_ciphers')
	if d.kind != pyDict {
		return echoCrash("AttributeError")
	}
	sub := func(key string) *pyVal {
		if v, ok := d.get(key); ok && v.truthy() {
			return v
		}
		return &pyVal{kind: pyDict}
	}
	https, internal := sub("https"), sub("internal_tls")
	ssl := &pyVal{kind: pyNone}
	for _, src := range []*pyVal{https, internal} {
		if src.kind != pyDict {
			return echoCrash("AttributeError")
		}
		if v, ok := src.get("strong_ssl_ciphers"); ok {
			ssl = v
		} else {
			ssl = &pyVal{kind: pyNone}
		}
		if ssl.truthy() {
			break
		}
	}
	d.set(&pyVal{kind: pyStr, s: "strong_ssl_ciphers"}, ssl)
	return d, nil
}

// releaseAtLeast compares an image's HARBOR_VERSION ("v2.15.2") with a release ("2.10.0").
func releaseAtLeast(version, min string) bool {
	a, aok := parsePEP440(strings.TrimPrefix(version, "v"))
	b, _ := parsePEP440(min)
	return aok && !a.less(b)
}

// shutilCopy is shutil.copy(src, dst): into dst/basename(src) when dst is a directory, the
// bytes, then src's permission bits on dst (copymode).
func shutilCopy(src, dst string) *pyExit {
	if isDir(dst) {
		dst = filepath.Join(dst, filepath.Base(src))
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return openError(err, src)
	}
	st, err := os.Stat(src)
	if err != nil {
		return openError(err, src)
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return openError(err, dst)
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		ex := pyErr("OSError", "%v", werr)
		return &ex
	}
	if err := os.Chmod(dst, st.Mode().Perm()); err != nil {
		ex := pyErr("PermissionError", "[Errno 1] Operation not permitted: '%s'", dst)
		return &ex
	}
	return nil
}

var acceptVersionsRe = regexp.MustCompile(`(?m)^accept_versions\s*=\s*\{([^}]*)\}`)

// acceptVersions reads migrations/__init__.py's accept_versions set.
func acceptVersions(dir string) (map[string]bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, "__init__.py"))
	if err != nil {
		return nil, &pyException{"ModuleNotFoundError", "No module named 'migrations'"}
	}
	m := acceptVersionsRe.FindSubmatch(b)
	if m == nil {
		return nil, &jinjaUnsupportedError{"migrations/__init__.py without an accept_versions set literal"}
	}
	out := map[string]bool{}
	for _, s := range pyStringLits(string(m[1])) {
		out[s] = true
	}
	return out, nil
}

var pyStringLitRe = regexp.MustCompile(`'([^'\\]*)'|"([^"\\]*)"`)

func pyStringLits(s string) []string {
	var out []string
	for _, m := range pyStringLitRe.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1]+m[2])
	}
	return out
}
