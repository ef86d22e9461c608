package roles

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

const httpsBlock19 = `# https:
#   # https port for harbor, default is 443
#   port: 443
#   # The path of cert and key files for nginx
#   certificate: /your/certificate/path
#   private_key: /your/private/key/path`

// migrate runs `harbord migrator --cfg up` on input the way bundle runs the image: SKIP_CONFIRM=y,
// the file mounted at the real input path.
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

func without(keys []string, drop string) []string {
	var out []string
	for _, k := range keys {
		if !strings.HasPrefix(k, drop) {
			out = append(out, k)
		}
	}
	return out
}

// The real default files of 1.8.0 and 1.9.0 migrate to exactly the key set of the real 1.10.0
// file, but for https, which the 1.10 template writes only when the input has it.
func TestMigrateDefaultFilesToKeySetOf110(t *testing.T) {
	want := without(keySet(t, testdata(t, "harbor-v1.10.0.yml")), "https.")
	for _, name := range []string{"harbor-v1.8.0.yml", "harbor-v1.9.0.yml"} {
		e, code := migrate(t, "v1.10.0", testdata(t, name))
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", name, code, e.output())
		}
		out := e.read(migratorInput)
		if got := keySet(t, out); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: keys\n%v\nwant\n%v", name, got, want)
		}
		if !strings.Contains(out, "\n# https:\n#   # https port for harbor") {
			t.Errorf("%s: the https block is not written commented out", name)
		}
		if !strings.Contains(e.output(), "Written new values to "+migratorInput) {
			t.Errorf("%s: output %q", name, e.output())
		}
	}
}

// An https block present in the input is kept, with its values: then the key set is exactly 1.10's.
func TestMigrateKeepsHTTPS(t *testing.T) {
	in := strings.Replace(testdata(t, "harbor-v1.9.0.yml"), httpsBlock19,
		"https:\n  port: 8443\n  certificate: /etc/ssl/harbor.crt\n  private_key: /etc/ssl/harbor.key", 1)
	e, code := migrate(t, "v1.10.0", in)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, e.output())
	}
	out := e.read(migratorInput)
	if got, want := keySet(t, out), keySet(t, testdata(t, "harbor-v1.10.0.yml")); !reflect.DeepEqual(got, want) {
		t.Errorf("keys\n%v\nwant\n%v", got, want)
	}
	for path, want := range map[string]any{"https.port": 8443, "https.certificate": "/etc/ssl/harbor.crt", "https.private_key": "/etc/ssl/harbor.key"} {
		if got := value(t, out, path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
}

// Values of a customised 1.8 file arrive where harbor-facts.md says, through 1.9.0.
func TestMigrateCarriesValuesFrom18(t *testing.T) {
	in := strings.NewReplacer(
		"hostname: reg.mydomain.com", "hostname: harbor.example.com",
		"  port: 80\n", "  port: 8080\n",
		"password: root123", "password: s3cret",
		"harbor_admin_password: Harbor12345", "harbor_admin_password: Adm1n!",
		"data_volume: /data", "data_volume: /srv/harbor",
		"updaters_interval: 12", "updaters_interval: 6",
		"max_job_workers: 10", "max_job_workers: 4",
		"level: info", "level: debug",
		"rotate_count: 50", "rotate_count: 7",
		"rotate_size: 200M", "rotate_size: 1G",
		"location: /var/log/harbor", "location: /srv/log",
		"  http_proxy:\n", "  http_proxy: http://proxy.corp:3128\n",
		"no_proxy: 127.0.0.1,localhost,core,registry", "no_proxy: 127.0.0.1,.corp",
		"# My own note", "",
	).Replace(testdata(t, "harbor-v1.8.0.yml")) + "\n# My own note: do not lose me\n"
	e, code := migrate(t, "v1.10.0", in)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, e.output())
	}
	out := e.read(migratorInput)
	want := map[string]any{
		"hostname": "harbor.example.com", "http.port": 8080, "database.password": "s3cret",
		"harbor_admin_password": "Adm1n!", "data_volume": "/srv/harbor",
		"database.max_idle_conns": 50, "database.max_open_conns": 100,
		"clair.updaters_interval": 6, "jobservice.max_job_workers": 4,
		"notification.webhook_job_max_retry": 10, "chart.absolute_url": "disabled",
		"log.level": "debug", "log.local.rotate_count": 7, "log.local.rotate_size": "1G",
		"log.local.location": "/srv/log", "_version": "1.10.0",
		"proxy.http_proxy": "http://proxy.corp:3128", "proxy.https_proxy": nil,
		"proxy.no_proxy": "127.0.0.1,.corp",
	}
	for path, w := range want {
		if got := value(t, out, path); got != w {
			t.Errorf("%s = %#v, want %#v", path, got, w)
		}
	}
	if got := fmt.Sprint(value(t, out, "proxy.components")); got != "[clair]" {
		t.Errorf("proxy.components = %s, want [clair]", got)
	}
	if value(t, out, "clair.http_proxy") != nil || value(t, out, "log.rotate_count") != nil {
		t.Error("keys that moved are still at their old place")
	}
	if strings.Contains(out, "My own note") {
		t.Error("the input's comments survived; the real migrator renders a fresh file")
	}
}

// Without clair proxies the 1.9 template writes the default proxy block, which 1.10 carries over.
func TestMigrateDefaultProxy(t *testing.T) {
	e, code := migrate(t, "v1.10.0", testdata(t, "harbor-v1.8.0.yml"))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, e.output())
	}
	out := e.read(migratorInput)
	if got := fmt.Sprint(value(t, out, "proxy.components")); got != "[core jobservice clair]" {
		t.Errorf("proxy.components = %s", got)
	}
	if got := value(t, out, "proxy.no_proxy"); got != "127.0.0.1,localhost,.local,.internal,log,db,redis,nginx,core,portal,postgresql,jobservice,registry,registryctl,clair" {
		t.Errorf("proxy.no_proxy = %v", got)
	}
}

const externalDB19 = `
external_database:
  harbor:
    host: db.corp
    port: 5433
    db_name: registry
    username: harbor
    password: pw
    ssl_mode: require
    max_idle_conns: 2
    max_open_conns: 0
  clair:
    host: db.corp
    port: 5433
    db_name: clair
    username: clair
    password: pw
    ssl_mode: require
  notary_signer:
    host: db.corp
    port: 5433
    db_name: notarysigner
    username: signer
    password: pw
    ssl_mode: require
  notary_server:
    host: db.corp
    port: 5433
    db_name: notaryserver
    username: server
    password: pw
    ssl_mode: require
external_redis:
  host: redis.corp
  port: 6380
  password: rpw
  registry_db_index: 1
  jobservice_db_index: 2
  chartmuseum_db_index: 3
`

func TestMigrateExternalDatabase(t *testing.T) {
	e, code := migrate(t, "v1.10.0", testdata(t, "harbor-v1.9.0.yml")+externalDB19)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, e.output())
	}
	out := e.read(migratorInput)
	for path, want := range map[string]any{
		"external_database.harbor.host": "db.corp", "external_database.harbor.port": 5433,
		"external_database.harbor.max_idle_conns": 2, "external_database.notary_server.db_name": "notaryserver",
		"external_redis.host": "redis.corp", "external_redis.clair_db_index": 4,
	} {
		if got := value(t, out, path); got != want {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
	// 1.9's template drops external_database.harbor.max_idle_conns, which 1.10's needs: a 1.8
	// file with an external database crashes the chain, as with the real migrator.
	in18 := testdata(t, "harbor-v1.8.0.yml") + strings.NewReplacer("    max_idle_conns: 2\n", "", "    max_open_conns: 0\n", "").Replace(externalDB19)
	e, code = migrate(t, "v1.10.0", in18)
	if code != exitMigrateFailed || !strings.Contains(e.output(), "'external_database.harbor.max_idle_conns' is undefined") {
		t.Errorf("1.8 with external_database: exit %d\n%s", code, e.output())
	}
	if e.read(migratorInput) != in18 {
		t.Error("a failed migration changed the input")
	}
}

// Keys the templates need, when missing, crash the migrator as jinja's StrictUndefined does.
func TestMigrateMissingKeys(t *testing.T) {
	for _, c := range []struct{ name, in, key string }{
		{"no hostname", strings.Replace(testdata(t, "harbor-v1.9.0.yml"), "hostname: reg.mydomain.com\n", "", 1), "hostname"},
		{"no log in 1.8", testdata(t, "harbor-v1.8.0.yml")[:strings.Index(testdata(t, "harbor-v1.8.0.yml"), "# Log configurations")] + "_version: 1.8.0\n", "log.level"},
		{"no http", strings.Replace(testdata(t, "harbor-v1.9.0.yml"), "http:\n", "web:\n", 1), "http"},
		{"log.local missing in 1.9", strings.Replace(testdata(t, "harbor-v1.9.0.yml"), "  local:\n", "  old:\n", 1), "log.local.rotate_count"},
	} {
		e, code := migrate(t, "v1.10.0", c.in)
		if code != exitMigrateFailed || !strings.Contains(e.output(), "'"+c.key+"' is undefined") {
			t.Errorf("%s: exit %d\n%s", c.name, code, e.output())
		}
	}
}

func TestMigrateSameVersionIsANoOp(t *testing.T) {
	in := testdata(t, "harbor-v1.10.0.yml")
	e, code := migrate(t, "v1.10.0", in)
	if code != 0 || !strings.Contains(e.output(), "no need to upgrade") || e.read(migratorInput) != in {
		t.Errorf("exit %d\n%s", code, e.output())
	}
}

// The real failure: nothing at the input path (a wrong -v target) and the migrator says it
// skipped, exiting 0.
func TestMigrateMissingInputIsSilentSuccess(t *testing.T) {
	e, code := migrate(t, "v1.10.0", "")
	if code != 0 || strings.TrimSpace(e.output()) != "Skip cfg up as no harbor.cfg in the path." {
		t.Errorf("exit %d, output %q", code, e.output())
	}
	// A missing host path given to -v makes docker create a directory there: that fails.
	e = newTestEnv(t, "v1.10.0")
	e.vars["SKIP_CONFIRM"] = "y"
	os.MkdirAll(e.path(migratorInput), 0o755)
	if code := e.run("migrator", "--cfg", "up"); code != exitMigrateFailed {
		t.Errorf("input is a directory: exit %d\n%s", code, e.output())
	}
}

func TestMigrateOutputDir(t *testing.T) {
	e := newTestEnv(t, "v1.10.0")
	e.vars["SKIP_CONFIRM"] = "y"
	in := testdata(t, "harbor-v1.9.0.yml")
	e.write(migratorInput, in)
	os.MkdirAll(e.path(migratorOutputDir), 0o755)
	if code := e.run("migrator", "--cfg", "up"); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.output())
	}
	if e.read(migratorInput) != in {
		t.Error("the input was changed although an output was mounted")
	}
	if v := value(t, e.read(migratorOutput), "_version"); v != "1.10.0" {
		t.Errorf("output _version %v", v)
	}
}

func TestMigrateVersions(t *testing.T) {
	// 1.9's migrator stops at 1.9.0.
	e, code := migrate(t, "v1.9.4", testdata(t, "harbor-v1.8.0.yml"))
	if code != 0 || value(t, e.read(migratorInput), "_version") != "1.9.0" {
		t.Errorf("1.8.0 -> 1.9.0: exit %d\n%s", code, e.output())
	}
	for _, v := range []string{"2.0.0", "1.7.0", ""} {
		in := strings.Replace(testdata(t, "harbor-v1.9.0.yml"), "_version: 1.9.0", "_version: "+v, 1)
		e, code := migrate(t, "v1.10.0", in)
		if code != exitMigrateFailed || !strings.Contains(e.output(), "No migrator for version") {
			t.Errorf("_version %q: exit %d\n%s", v, code, e.output())
		}
	}
}

func TestMigratorConfirmationAndArgs(t *testing.T) {
	for _, c := range []struct {
		stdin string
		want  int
	}{{"y\n", 0}, {"n\n", exitMigrateUsage}, {"", exitMigrateUsage}, {"yes\n", exitMigrateUsage}} {
		e := newTestEnv(t, "v1.10.0")
		e.stdin = c.stdin
		e.write(migratorInput, testdata(t, "harbor-v1.9.0.yml"))
		code := e.run("migrator", "--cfg", "up")
		if code != c.want || !strings.Contains(e.output(), "Please backup before upgrade, \nEnter y to continue updating or n to abort:") {
			t.Errorf("stdin %q: exit %d, want %d\n%s", c.stdin, code, c.want, e.output())
		}
	}
	for _, args := range [][]string{{"up"}, {"--cfg"}, {"--cfg", "up", "--bogus"}, {"--cfg", "down"}, {}} {
		if _, code := migrate(t, "v1.10.0", testdata(t, "harbor-v1.9.0.yml"), args...); code != exitMigrateUsage {
			t.Errorf("args %q: exit %d, want %d", args, code, exitMigrateUsage)
		}
	}
}
