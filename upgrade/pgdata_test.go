package upgrade

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/harbor"
)

// pgLayout writes data_volume/database as harbor-db leaves it: "9.6" in database/PG_VERSION,
// any later major in database/pgNN/PG_VERSION.
func pgLayout(t *testing.T, majors ...string) string {
	t.Helper()
	dv := t.TempDir()
	db := filepath.Join(dv, "database")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, m := range majors {
		dir := filepath.Join(dv, harbor.DataDir(m))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "PG_VERSION"), []byte(m+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dv
}

// Every decision is read from the catalog's postgres facts of the target: kept as is, upgraded
// at first start (the plan says the old cluster goes), or refused naming the release whose
// harbor-db upgrades that major.
func TestPostgresStep(t *testing.T) {
	cat, err := harbor.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		data   []string
		target string
		ok     string // substring of the plan line; "" = refused
		refuse []string
	}{
		{[]string{"9.6"}, "v2.0.6", "PostgreSQL 9.6 (database, kept as it is)", nil},
		{[]string{"9.6"}, "v2.4.3", "PostgreSQL 9.6 -> 13 (pg_upgrade at first start; the old cluster database is deleted, only the backup brings it back)", nil},
		{[]string{"13"}, "v2.10.3", "PostgreSQL 13 -> 14", nil},
		{[]string{"15"}, "v2.15.2", "PostgreSQL 15 -> 18", nil},
		{[]string{"15"}, "v2.15.1", "PostgreSQL 15 (database/pg15, kept as it is)", nil},
		{[]string{"9.6"}, "v2.7.4", "", []string{"PostgreSQL 9.6 (database)", "refuse it", "upgrade to v2.6.x first"}},
		{[]string{"9.6"}, "v2.8.6", "", []string{"upgrade to v2.6.x first"}},
		{[]string{"13"}, "v2.15.2", "", []string{"EMPTY database", "PostgreSQL 13 (database/pg13)"}},
		{nil, "v2.10.3", "", []string{"no PostgreSQL cluster", "EMPTY database"}},
		{[]string{"9.6", "13"}, "v2.10.3", "", []string{"several PostgreSQL majors (13, 9.6)"}},
	} {
		dv := pgLayout(t, tc.data...)
		target, err := cat.Get(tc.target)
		if err != nil {
			t.Fatal(err)
		}
		majors, err := pgClusters(dv)
		line, err := postgresStep(majors, err, target, cat)
		name := strings.Join(tc.data, "+") + " -> " + tc.target
		if tc.ok != "" {
			if err != nil || !strings.Contains(line, tc.ok) {
				t.Errorf("%s: %q, %v; want %q", name, line, err, tc.ok)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: not refused (%q)", name, line)
			continue
		}
		for _, w := range tc.refuse {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v\nlacks %q", name, err, w)
			}
		}
	}
}

// Odd layouts are refused with what was found: no database dir, a pgNN whose PG_VERSION names
// another major. An empty PG_VERSION is absent, as the entrypoint's `-s` test has it.
func TestPgClustersOddLayouts(t *testing.T) {
	if _, err := pgClusters(t.TempDir()); err == nil || !strings.Contains(err.Error(), "database") {
		t.Errorf("no database dir: %v", err)
	}
	dv := pgLayout(t, "14")
	os.WriteFile(filepath.Join(dv, "database", "pg14", "PG_VERSION"), []byte("13\n"), 0o600)
	if _, err := pgClusters(dv); err == nil || !strings.Contains(err.Error(), "pg14/PG_VERSION says 13") {
		t.Errorf("pg14 holding 13: %v", err)
	}
	dv = pgLayout(t, "15")
	os.MkdirAll(filepath.Join(dv, "database", "pg18"), 0o700)
	os.WriteFile(filepath.Join(dv, "database", "pg18", "PG_VERSION"), nil, 0o600)
	if m, err := pgClusters(dv); err != nil || strings.Join(m, ",") != "15" {
		t.Errorf("pg15 + half-made pg18: %v %v", m, err)
	}
	_, err := postgresStep(nil, os.ErrPermission, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "cannot tell") {
		t.Errorf("unreadable: %v", err)
	}
}
