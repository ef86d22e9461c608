package roles

import (
	"os"
	"strings"
	"testing"
)

const httpsBlock19 = `# https:
#   # https port for harbor, default is 443
#   port: 443
#   # The path of cert and key files for nginx
#   certificate: /your/certificate/path
#   private_key: /your/private/key/path`

// migrate runs `harbord migrator ARGS` (default `--cfg up`) on input the way bundle runs the
// image: SKIP_CONFIRM=y, the file at the real input path, nothing at harbor-cfg-out (so the
// input is overwritten).
func migrate(t *testing.T, target, input string, args ...string) (*testEnv, int) {
	t.Helper()
	e := newTestEnv(t, target)
	e.vars["SKIP_CONFIRM"] = "y"
	if input != "" {
		e.write(migratorInput, input)
	}
	if args == nil {
		args = []string{"--cfg", "up"}
	}
	return e, e.run(append([]string{"migrator"}, args...)...)
}

// migrator.py CfgMigrator: harbor-cfg-out/ counts only when a harbor.yml is already in it. An
// empty directory (bundle's mount before issue 11) or none: the input is overwritten, and said.
// These are the cases the differential tests hold against the real code; here they are checked
// without Python, with the messages.
func TestMigratorOutputLocation(t *testing.T) {
	in := testdata(t, "harbor-v1.9.0.yml")
	for _, c := range []struct {
		name                string
		outDir, outFile     bool
		wantInputOverwitten bool
	}{
		{"no out dir", false, false, true},
		{"empty out dir", true, false, true},
		{"out file exists", true, true, false},
	} {
		e := newTestEnv(t, "v1.10.0")
		e.vars["SKIP_CONFIRM"] = "y"
		e.write(migratorInput, in)
		if c.outDir {
			os.MkdirAll(e.path(migratorOutputDir), 0o755)
		}
		if c.outFile {
			e.write(migratorOutput, "")
		}
		if code := e.run("migrator", "--cfg", "up"); code != 0 {
			t.Fatalf("%s: exit %d\n%s", c.name, code, e.output())
		}
		got := e.read(migratorInput)
		said := strings.Contains(e.output(), "The path of the migrated harbor.cfg is not set, the input file will be overwritten.")
		if c.wantInputOverwitten {
			if got == in || !said || !strings.Contains(e.output(), "Written new values to "+migratorInput) {
				t.Errorf("%s: the input was not overwritten as announced\n%s", c.name, e.output())
			}
			if _, err := os.Stat(e.path(migratorOutput)); err == nil {
				t.Errorf("%s: wrote harbor-cfg-out/harbor.yml, which the real migrator never creates", c.name)
			}
			continue
		}
		if got != in || said || value(t, e.read(migratorOutput), "_version") != "1.10.0" {
			t.Errorf("%s: the result is not in the existing out file\n%s", c.name, e.output())
		}
	}
}

// shutil.copy gives the written file the temporary file's mode: 0644, whatever it was.
func TestMigratorLeavesTheFileWorldReadable(t *testing.T) {
	e := newTestEnv(t, "v1.10.0")
	e.vars["SKIP_CONFIRM"] = "y"
	e.write(migratorInput, testdata(t, "harbor-v1.9.0.yml"))
	os.Chmod(e.path(migratorInput), 0o600)
	if code := e.run("migrator", "--cfg", "up"); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.output())
	}
	if st, _ := os.Stat(e.path(migratorInput)); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v after the migration, the real one leaves 0644", st.Mode().Perm())
	}
}

func TestMigratorSameVersionIsANoOp(t *testing.T) {
	in := testdata(t, "harbor-v1.10.0.yml")
	e, code := migrate(t, "v1.10.0", in)
	if code != 0 || !strings.Contains(e.output(), "Version of input harbor.yml is identical to target 1.10.0, no need to upgrade") || e.read(migratorInput) != in {
		t.Errorf("exit %d\n%s", code, e.output())
	}
}

// Nothing at the input path (a wrong -v, or docker having created a directory there for a
// missing host path): the real migrator says it skipped and exits 0.
func TestMigratorMissingInputIsSilentSuccess(t *testing.T) {
	e, code := migrate(t, "v1.10.0", "")
	if code != 0 || !strings.Contains(e.output(), "Skip cfg up as no harbor.cfg in the path.") {
		t.Errorf("exit %d, output %q", code, e.output())
	}
	e = newTestEnv(t, "v1.10.0")
	e.vars["SKIP_CONFIRM"] = "y"
	os.MkdirAll(e.path(migratorInput), 0o755)
	if code := e.run("migrator", "--cfg", "up"); code != 0 || !strings.Contains(e.output(), "Skip cfg up") {
		t.Errorf("input is a directory: exit %d\n%s", code, e.output())
	}
}

// Every failure of cfg/run.py (exit 1) becomes migrator.py's RC_UP, 102.
func TestMigratorFailuresExit102(t *testing.T) {
	v19 := testdata(t, "harbor-v1.9.0.yml")
	for name, in := range map[string]string{
		"no migrator for 2.0.0":  strings.Replace(v19, "_version: 1.9.0", "_version: 2.0.0", 1),
		"no _version":            strings.Replace(v19, "_version: 1.9.0", "", 1),
		"missing key":            strings.Replace(v19, "hostname: reg.mydomain.com\n", "", 1),
		"non-ASCII value (py2)":  strings.Replace(v19, "password: root123", "password: r\u00f6\u00f6t", 1),
		"not YAML, read as INI":  v19 + "\nbroken: [\n", // http: is then a string: 'str object' has no attribute 'port'
		"not YAML, INI fails":    "_version: 1.9.0\nhostname: h\nhostname: i\nbroken: [\n",
		"1.8 https only":         strings.Replace(testdata(t, "harbor-v1.8.0.yml"), "http:\n", "https:\n", 1),
		"redirect null":          v19 + "\nstorage_service:\n  redirect:\n",
		"proxy.components null":  strings.Replace(v19, "  components:\n    - core\n    - jobservice\n    - clair\n", "  components:\n", 1),
		"database without pools": strings.Replace(strings.Replace(v19, "  max_idle_conns: 50\n", "", 1), "  max_open_conns: 100\n", "", 1),
	} {
		e, code := migrate(t, "v1.10.0", in)
		if code != exitMigrateFailed {
			t.Errorf("%s: exit %d, want 102\n%s", name, code, e.output())
		}
		if e.read(migratorInput) != in {
			t.Errorf("%s: a failed migration changed the input", name)
		}
	}
}

// A file PyYAML cannot load is read as INI, as read_conf's harbor.cfg fallback does: a flat one
// migrates with the 1.10 template's defaults.
func TestMigratorReadsBrokenYAMLAsINI(t *testing.T) {
	e, code := migrate(t, "v1.10.0", "_version: 1.9.0\nhostname: harbor.test\nbroken: [\n")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, e.output())
	}
	out := e.read(migratorInput)
	if value(t, out, "hostname") != "harbor.test" || value(t, out, "database.password") != "root123" || value(t, out, "_version") != "1.10.0" {
		t.Errorf("not the defaults:\n%s", out)
	}
}

// A 1.8 file with external_database migrates: 1.9's template writes harbor's pool settings as
// the constants 2 and 0, which 1.10's then reads.
func TestMigrator18ExternalDatabase(t *testing.T) {
	in := testdata(t, "harbor-v1.8.0.yml") + `
external_database:
  harbor: {host: db, port: 5432, db_name: registry, username: u, password: p, ssl_mode: disable}
  clair: {host: db, port: 5432, db_name: clair, username: u, password: p, ssl_mode: disable}
  notary_signer: {host: db, port: 5432, db_name: signer, username: u, password: p, ssl_mode: disable}
  notary_server: {host: db, port: 5432, db_name: server, username: u, password: p, ssl_mode: disable}
`
	e, code := migrate(t, "v1.10.0", in)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, e.output())
	}
	out := e.read(migratorInput)
	if value(t, out, "external_database.harbor.max_idle_conns") != 2 || value(t, out, "external_database.harbor.max_open_conns") != 0 {
		t.Errorf("pool settings not the 1.9 template's constants:\n%s", out)
	}
}

// Values are read as PyYAML (YAML 1.1) reads them and printed as Python prints them.
func TestMigratorPrintsValuesAsPython(t *testing.T) {
	in := strings.NewReplacer("hostname: reg.mydomain.com", "hostname: yes",
		"password: root123", "password: 0777",
		"harbor_admin_password: Harbor12345", "harbor_admin_password: 1e3").Replace(testdata(t, "harbor-v1.9.0.yml"))
	e, code := migrate(t, "v1.10.0", in)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, e.output())
	}
	out := e.read(migratorInput)
	for _, want := range []string{"\nhostname: True\n", "\n  password: 511\n", "\nharbor_admin_password: 1e3\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

// migrator.py's command line: the action must be last (else 110), `up` asks unless
// SKIP_CONFIRM is exactly y (EOF: Python 2's raw_input raises, exit 1), the options go to
// argparse (unknown: exit 2).
func TestMigratorArgsAndConfirmation(t *testing.T) {
	for _, c := range []struct {
		stdin string
		want  int
	}{{"y\n", 0}, {"yes\n", 0}, {"YE\n", 0}, {"n\n", exitMigrateUsage}, {"\n", exitMigrateUsage}, {"", exitFail}, {"maybe\nn\n", exitMigrateUsage}} {
		e := newTestEnv(t, "v1.10.0")
		e.stdin = c.stdin
		e.vars["SKIP_CONFIRM"] = "Y" // not "y": still asks
		e.write(migratorInput, testdata(t, "harbor-v1.9.0.yml"))
		code := e.run("migrator", "--cfg", "up")
		if code != c.want || !strings.Contains(e.output(), "Please backup before upgrade, \nEnter y to continue updating or n to abort: ") {
			t.Errorf("stdin %q: exit %d, want %d\n%s", c.stdin, code, c.want, e.output())
		}
	}
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"--cfg"}, exitMigrateUsage}, {[]string{"--cfg", "up", "--db"}, exitMigrateUsage}, {[]string{}, exitMigrateUsage},
		{[]string{"--bogus", "up"}, exitArgparse}, {[]string{"-u", "x", "--cfg", "up"}, exitArgparse},
		{[]string{"--c", "up"}, 0}, {[]string{"--cfg", "--version", "1.10.0", "up"}, 0}, {[]string{"up"}, 0},
		{[]string{"--cfg", "test"}, 0}, {[]string{"--cfg", "backup"}, exitMigrateBackup},
	} {
		e, code := migrate(t, "v1.10.0", testdata(t, "harbor-v1.9.0.yml"), c.args...)
		if code != c.want {
			t.Errorf("args %q: exit %d, want %d\n%s", c.args, code, c.want, e.output())
		}
	}
	// --version picks the target: 1.8.0 -> 1.9.0 only.
	e, code := migrate(t, "v1.10.0", testdata(t, "harbor-v1.8.0.yml"), "--cfg", "--version", "1.9.0", "up")
	if code != 0 || value(t, e.read(migratorInput), "_version") != "1.9.0" {
		t.Errorf("--version 1.9.0: exit %d\n%s", code, e.output())
	}
}

// The 1.9 image's migrator stops at 1.9.0.
func TestMigrator19Image(t *testing.T) {
	e, code := migrate(t, "v1.9.4", testdata(t, "harbor-v1.8.0.yml"))
	if code != 0 || value(t, e.read(migratorInput), "_version") != "1.9.0" {
		t.Errorf("1.8.0 -> 1.9.0: exit %d\n%s", code, e.output())
	}
}
