package harbor

import "testing"

// The releases named for data a target's harbor-db would not keep come from the catalog's
// postgres facts: 9.6 data (database/PG_VERSION) is upgraded only by 1.10.18/19 and 2.3-2.6.
func TestPostgresVia(t *testing.T) {
	c, err := DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ major, target, want string }{
		{"9.6", "v2.7.4", "v2.6.x"},
		{"9.6", "v2.8.6", "v2.6.x"},
		{"9.6", "v2.4.3", "v2.3.x"},
	} {
		target, err := c.Get(tc.target)
		if err != nil {
			t.Fatal(err)
		}
		via := c.PostgresVia(tc.major, target)
		if via == nil {
			t.Errorf("%s data -> %s: no release named, want %s", tc.major, tc.target, tc.want)
			continue
		}
		if got := c.StepName(via); got != tc.want {
			t.Errorf("%s data -> %s: via %s, want %s", tc.major, tc.target, got, tc.want)
		}
		if !via.Postgres.Uses(tc.major) || via.Postgres.Major == tc.major {
			t.Errorf("%s does not upgrade %s: %s", via.Version, tc.major, via.Postgres)
		}
	}
	target, _ := c.Get("v2.8.6")
	if via := c.PostgresVia("11", target); via != nil {
		t.Errorf("PostgreSQL 11 (never shipped) -> %s", via.Version)
	}
}

// Every release says where its API is: /api for the releases the 1.x migrator migrates to,
// /api/v2.0 for those `prepare migrate` does (2.0 moved the API and the migration together).
func TestAPIBase(t *testing.T) {
	c, err := DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{MethodMigrator: "/api", MethodPrepare: "/api/v2.0"}
	for _, r := range c.Releases() {
		if r.APIBase != want[r.Migration.Method] {
			t.Errorf("%s (%s): api_base %q, want %q", r.Version, r.Migration.Method, r.APIBase, want[r.Migration.Method])
		}
	}
}
