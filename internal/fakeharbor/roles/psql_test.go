package roles

import (
	"os"
	"strings"
	"testing"
)

// bundle's dirty-database check, exactly as it runs it in harbor-db.
var bundleSchemaQuery = []string{"psql", "-U", "postgres", "-d", "registry", "-t", "-A", "-F", "|", "-c", "SELECT version, dirty FROM schema_migrations"}

func (s *stack) psql(args ...string) (*testEnv, int) {
	e := s.env("v1.10.0", s.dbAddr)
	return e, e.run(args...)
}

// The fake harbor-db answers psql for schema_migrations from the state its server keeps, as
// real harbor-db's PostgreSQL does for golang-migrate's table; psql fails to connect when the
// server is not (yet) accepting connections.
func TestPsqlAnswersSchemaMigrations(t *testing.T) {
	s := newStack(t)
	if e, code := s.psql(bundleSchemaQuery...); code != exitUsage || !strings.Contains(e.output(), "psql: could not connect to server") {
		t.Errorf("no server: exit %d\n%s", code, e.output())
	}
	s.start(s.env("v1.10.0", s.dbAddr), "db")
	// Before core ever migrated, golang-migrate has not created its table.
	if e, code := s.psql(bundleSchemaQuery...); code != exitFail || !strings.Contains(e.output(), `ERROR:  relation "schema_migrations" does not exist`) {
		t.Errorf("fresh database: exit %d\n%s", code, e.output())
	}
	s.core("v1.10.0")
	e, code := s.psql(bundleSchemaQuery...)
	if code != 0 || e.stdout.String() != "15|f\n" || e.stderr.Len() != 0 {
		t.Errorf("after core 1.10.0 migrated: exit %d, stdout %q, stderr %q", code, e.stdout.String(), e.stderr.String())
	}
	if err := os.WriteFile(s.root+pgData+"/schema_migrations.json", []byte(`{"version":13,"dirty":true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if e, code := s.psql(bundleSchemaQuery...); code != 0 || e.stdout.String() != "13|t\n" {
		t.Errorf("dirty: exit %d, %q", code, e.output())
	}
	// Other output formats, as psql prints them.
	if e, _ := s.psql("psql", "-U", "postgres", "-d", "registry", "-A", "-c", "select version,dirty from schema_migrations;"); e.stdout.String() != "version|dirty\n13|t\n(1 row)\n" {
		t.Errorf("unaligned with header: %q", e.stdout.String())
	}
	if e, _ := s.psql("psql", "-Upostgres", "registry", "-c", "SELECT version, dirty FROM schema_migrations"); e.stdout.String() != " version | dirty \n---------+-------\n      13 | t\n(1 row)\n\n" {
		t.Errorf("aligned: %q", e.stdout.String())
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"psql", "-U", "postgres", "-d", "registry", "-c", "SELECT * FROM project"}, exitFail, "ERROR:  the fake harbor-db answers only"},
		{[]string{"psql", "-U", "postgres", "-d", "postgres", "-c", "SELECT version, dirty FROM schema_migrations"}, exitFail, `relation "schema_migrations" does not exist`},
		{[]string{"psql", "-U", "postgres", "-d", "nosuch", "-c", "SELECT 1"}, exitUsage, `FATAL:  database "nosuch" does not exist`},
		{[]string{"psql", "-U", "harbor", "-d", "registry", "-c", "SELECT 1"}, exitUsage, `FATAL:  role "harbor" does not exist`},
		{[]string{"psql", "-z"}, exitFail, "invalid option -- 'z'"},
	} {
		if e, code := s.psql(c.args...); code != c.code || !strings.Contains(e.output(), c.want) {
			t.Errorf("%q: exit %d, want %d and %q\n%s", c.args, code, c.code, c.want, e.output())
		}
	}
}

// harbor-db's /usr/bin/psql is a symlink to harbord: run under that name, harbord is psql.
func TestMainArgvRunsTheRoleOfItsName(t *testing.T) {
	for _, c := range []struct{ argv, want []string }{
		{[]string{"/usr/bin/psql", "-U", "postgres"}, []string{"psql", "-U", "postgres"}},
		{[]string{"/harbor/harbord", "db"}, []string{"db"}},
		{[]string{"/tmp/go-build/roles.test", "core"}, []string{"core"}},
	} {
		if got := roleArgs(c.argv); strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%q: %q, want %q", c.argv, got, c.want)
		}
	}
}
