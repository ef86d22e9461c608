package harbor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestdata(t *testing.T, name string) (*Config, []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ReadConfig(p)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c, b
}

func TestRealDefaultFilesParse(t *testing.T) {
	cases := []struct {
		file, version string
		https         bool
	}{
		{"harbor-v1.8.0.yml", "1.8.0", false},
		{"harbor-v1.9.0.yml", "1.9.0", false},
		{"harbor-v1.10.0.yml", "1.10.0", true},
	}
	for _, tc := range cases {
		c, _ := readTestdata(t, tc.file)
		if c.ConfigVersion() != tc.version || c.Hostname() != "reg.mydomain.com" || c.DataVolume() != "/data" || c.HTTPPort() != 80 {
			t.Errorf("%s: version %q hostname %q data %q http %d", tc.file, c.ConfigVersion(), c.Hostname(), c.DataVolume(), c.HTTPPort())
		}
		if p, ok := c.HTTPSPort(); ok != tc.https || (ok && p != 443) {
			t.Errorf("%s: https %d %v", tc.file, p, ok)
		}
		if pw, ok := c.Get("database", "password"); !ok || pw != "root123" {
			t.Errorf("%s: database.password %q %v", tc.file, pw, ok)
		}
		if _, ok := c.Get("log"); ok {
			t.Errorf("%s: Get of a mapping must not report a scalar", tc.file)
		}
		if v, ok := c.Get("proxy", "http_proxy"); tc.version != "1.8.0" && (!ok || v != "") {
			t.Errorf("%s: empty proxy.http_proxy = %q, %v", tc.file, v, ok)
		}
	}
}

func TestSetRoundTripKeepsComments(t *testing.T) {
	c, orig := readTestdata(t, "harbor-v1.10.0.yml")
	must(t, c.Set("harbor.example.com", "hostname"))
	must(t, c.Set("8080", "http", "port"))
	must(t, c.Set("12345", "database", "password"))
	must(t, c.Set("/srv/harbor", "data_volume"))
	must(t, c.Set("true", "metric", "enabled"))
	must(t, c.Set("9090", "metric", "port"))
	out, err := c.Marshal()
	must(t, err)
	text := string(out)
	for _, line := range strings.Split(string(orig), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") && !strings.Contains(text, strings.TrimSpace(line)) {
			t.Errorf("comment lost: %q", line)
		}
	}
	for _, want := range []string{"hostname: harbor.example.com\n", "  port: 8080\n", `password: "12345"`, "metric:\n  enabled: true\n  port: 9090\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Index(text, "hostname:") > strings.Index(text, "harbor_admin_password:") {
		t.Error("key order changed")
	}
	back, err := ParseConfig(out)
	must(t, err)
	if back.Hostname() != "harbor.example.com" || back.HTTPPort() != 8080 || back.DataVolume() != "/srv/harbor" {
		t.Errorf("reparsed: %q %d %q", back.Hostname(), back.HTTPPort(), back.DataVolume())
	}
	if pw, _ := back.Get("database", "password"); pw != "12345" {
		t.Errorf("password %q", pw)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Values reach install.sh and the migrator through files, never a shell; they must come back
// exactly as given, whatever they contain.
func TestHostileValuesRoundTripAsData(t *testing.T) {
	values := []string{
		"$(rm -rf /)", "`reboot`", "a; b && c || d | e > /etc/passwd", "'\"\\", "#not a comment",
		"key: value", "- item", "{x: 1}", "*alias", "&anchor", "!!binary AAAA", "null", "~", "true",
		"0x1F", "1e3", "  padded  ", "multi\nline\n", "tab\there", "ünïcødé ✓", "%TAG", "---", "...",
		"", "@at", "`", "a: b # c",
	}
	c, _ := readTestdata(t, "harbor-v1.9.0.yml")
	for _, v := range values {
		must(t, c.Set(v, "harbor_admin_password"))
		must(t, c.Set(v, "external_url"))
		out, err := c.Marshal()
		must(t, err)
		back, err := ParseConfig(out)
		if err != nil {
			t.Fatalf("value %q: reparse: %v", v, err)
		}
		for _, key := range []string{"harbor_admin_password", "external_url"} {
			if got, ok := back.Get(key); !ok || got != v {
				t.Errorf("value %q came back as %q (%v)", v, got, ok)
			}
		}
	}
}

func TestSetRefusals(t *testing.T) {
	c, err := ParseConfig([]byte("base: &b {port: 1}\nother: *b\nlist: [1, 2]\nempty:\n"))
	must(t, err)
	if err := c.Set("2", "other", "port"); !errors.Is(err, errEditAlias) {
		t.Errorf("edit through alias: %v", err)
	}
	if err := c.Set("x", "list", "a"); err == nil {
		t.Error("set under a sequence accepted")
	}
	if err := c.Set("x", "base"); err == nil {
		t.Error("replacing a mapping by a scalar accepted")
	}
	if err := c.Set("x"); err == nil {
		t.Error("empty path accepted")
	}
	must(t, c.Set("443", "empty", "port"))
	if p, _ := c.Get("empty", "port"); p != "443" {
		t.Errorf("null parent not turned into a mapping: %q", p)
	}
	if v, ok := c.Get("other", "port"); !ok || v != "1" {
		t.Errorf("Get through alias: %q %v", v, ok)
	}
}

func TestHostileDocumentsRefused(t *testing.T) {
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for i := 'b'; i <= 'j'; i++ {
		laughs += string(i) + ": &" + string(i) + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = string(i)
	}
	manyAliases := "a: &a x\nl: [" + strings.Repeat("*a, ", 2000) + "*a]\n"
	deep := "a: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n"
	deepMaps := ""
	for i := range 70 {
		deepMaps += strings.Repeat("  ", i) + "k:\n"
	}
	cases := map[string]struct {
		doc  string
		want error
	}{
		"billion laughs":  {laughs, ErrConfigAliases},
		"many aliases":    {manyAliases, ErrConfigAliases},
		"deep sequences":  {deep, ErrConfigTooDeep},
		"deep mappings":   {deepMaps, ErrConfigTooDeep},
		"too large":       {"a: " + strings.Repeat("x", MaxConfigSize) + "\n", ErrConfigTooLarge},
		"scalar root":     {"just a string\n", ErrConfigNotMapping},
		"too many values": {"a: [" + strings.Repeat("x,", maxConfigNodes) + "x]\n", ErrConfigTooMany},
		"sequence root":   {"- a\n- b\n", ErrConfigNotMapping},
		"empty":           {"", ErrConfigNotMapping},
		"comment only":    {"# nothing\n", ErrConfigNotMapping},
		"self alias":      {"a: &a [*a]\n", nil},
		"invalid yaml":    {"a: [\n", nil},
		"tabs for indent": {"a:\n\tb: 1\n", nil},
	}
	// A bomb that got through would expand to gigabytes and hang here until the test timeout;
	// no wall-clock bound is asserted (speed lives in benchmarks, and CI machines are noisy).
	for name, tc := range cases {
		_, err := ParseConfig([]byte(tc.doc))
		var ce *ConfigError
		if !errors.As(err, &ce) || (tc.want != nil && !errors.Is(err, tc.want)) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one-line ConfigError %v", name, err, tc.want)
		}
	}
	p := writeFile(t, "harbor.yml", "a: "+strings.Repeat("x", MaxConfigSize)+"\n")
	if _, err := ReadConfig(p); !errors.Is(err, ErrConfigTooLarge) || !strings.Contains(err.Error(), p) {
		t.Errorf("ReadConfig of a big file: %v", err)
	}
	if _, err := ReadConfig(filepath.Join(t.TempDir(), "none.yml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestCheckForMigrator(t *testing.T) {
	c18, _ := readTestdata(t, "harbor-v1.8.0.yml")
	c19, _ := readTestdata(t, "harbor-v1.9.0.yml")
	c110, _ := readTestdata(t, "harbor-v1.10.0.yml")
	for name, c := range map[string]*Config{"1.8.0": c18, "1.9.0": c19, "1.10.0": c110} {
		if err := c.CheckForMigrator("1.10.0"); err != nil {
			t.Errorf("default %s -> 1.10.0: %v", name, err)
		}
	}
	if err := c19.CheckForMigrator("2.0.0"); err != nil {
		t.Errorf("1.9.0 -> 2.0.0: %v", err)
	}
	cases := []struct {
		name, doc, target, want string
	}{
		{"1.8 without log level", strings.Replace(raw(t, "harbor-v1.8.0.yml"), "  level: info\n", "", 1), "1.10.0", "harbor.yml: log.level is missing; the migrator reads it"},
		{"1.8 without http", strings.Replace(raw(t, "harbor-v1.8.0.yml"), "http:\n  # port for http, default is 80. If https enabled, this port will redirect to https port\n  port: 80\n", "", 1), "1.10.0", "harbor.yml: http is missing"},
		{"1.9 db without pool", strings.Replace(raw(t, "harbor-v1.9.0.yml"), "  max_open_conns: 100\n", "", 1), "1.10.0", "database.max_open_conns"},
		{"1.9 redis partial", raw(t, "harbor-v1.9.0.yml") + "external_redis:\n  host: redis\n  port: 6379\n", "1.10.0", "external_redis.password, external_redis.registry_db_index, external_redis.jobservice_db_index, external_redis.chartmuseum_db_index are missing"},
		{"1.9 external db without pool", raw(t, "harbor-v1.9.0.yml") + extDB, "1.10.0", "external_database.harbor.max_idle_conns, external_database.harbor.max_open_conns are missing"},
		{"1.8 to 2.0", raw(t, "harbor-v1.8.0.yml"), "2.0.0", "older than 1.9.0; upgrade to v1.10.x first"},
		{"downgrade", raw(t, "harbor-v1.10.0.yml"), "1.9.0", "newer than the target"},
		{"no _version", strings.Replace(raw(t, "harbor-v1.9.0.yml"), "_version: 1.9.0", "", 1), "1.10.0", "no readable _version"},
		{"unknown _version", strings.Replace(raw(t, "harbor-v1.9.0.yml"), "_version: 1.9.0", "_version: 1.8.5", 1), "1.10.0", "no harbor-migrator step"},
	}
	for _, tc := range cases {
		c, err := ParseConfig([]byte(tc.doc))
		must(t, err)
		err = c.CheckForMigrator(tc.target)
		var me *MigrationInputError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	// The 1.8 shape of external_database migrates from 1.8 (the 1.9.0 step adds the pool keys),
	// and from 1.9.0 once it has them. An empty http: on 1.8 is dropped by the 1.9.0 step.
	for _, doc := range []string{raw(t, "harbor-v1.8.0.yml") + extDB, strings.Replace(raw(t, "harbor-v1.8.0.yml"), "  port: 80\n", "", 1)} {
		c, err := ParseConfig([]byte(doc))
		must(t, err)
		must(t, c.CheckForMigrator("1.10.0"))
	}
	c, err := ParseConfig([]byte(raw(t, "harbor-v1.9.0.yml") + strings.Replace(extDB, "    ssl_mode: disable\n", "    ssl_mode: disable\n    max_idle_conns: 2\n    max_open_conns: 0\n", 1)))
	must(t, err)
	must(t, c.CheckForMigrator("1.10.0"))
}

const extDB = `external_database:
  harbor:
    host: db
    port: 5432
    db_name: registry
    username: u
    password: p
    ssl_mode: disable
  clair: {host: db, port: 5432, db_name: clair, username: u, password: p, ssl_mode: disable}
  notary_signer: {host: db, port: 5432, db_name: ns, username: u, password: p, ssl_mode: disable}
  notary_server: {host: db, port: 5432, db_name: nsv, username: u, password: p, ssl_mode: disable}
`

func raw(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	must(t, err)
	return string(b)
}

func TestLegacyCfg(t *testing.T) {
	dir := t.TempDir()
	cfg := "## Configuration file of Harbor\n_version = 1.7.0\nhostname = reg.mydomain.com\nui_url_protocol = http\ndb_password = root123\n"
	must(t, os.WriteFile(filepath.Join(dir, "harbor.cfg"), []byte(cfg), 0o600))
	m, err := ReadLegacyCfg(filepath.Join(dir, "harbor.cfg"))
	if err != nil || m["_version"] != "1.7.0" || m["hostname"] != "reg.mydomain.com" {
		t.Fatalf("%v %v", m, err)
	}
	_, err = ReadInstallConfig(dir)
	var le *LegacyConfigError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "Harbor 1.7.0, which must be upgraded to v1.8.x first") {
		t.Errorf("legacy dir: %v", err)
	}
	if _, err := ReadInstallConfig(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty dir: %v", err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "harbor.yml"), []byte(raw(t, "harbor-v1.9.0.yml")), 0o600))
	if c, err := ReadInstallConfig(dir); err != nil || c.ConfigVersion() != "1.9.0" {
		t.Errorf("harbor.yml wins over harbor.cfg: %v", err)
	}
	if _, err := ReadLegacyCfg(writeFile(t, "x.cfg", "# only comments\n")); err == nil {
		t.Error("a cfg with no settings accepted")
	}
}
