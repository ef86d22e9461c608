package harbor

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCanUpgradeFromAllowed(t *testing.T) {
	c := mustCatalog(t)
	allowed := map[string][]string{
		"v1.10.0": {"v1.8.0", "v1.8.6", "1.9.0", "v1.9.4-abcdef12"},
		"v1.10.6": {"v1.10.0", "v1.9.4", "v1.8.6"},
		"v2.0.0":  {"v1.9.4", "v1.10.17"},
		"v2.4.3":  {"v1.10.19", "v2.2.4"},
		"v2.15.2": {"v2.13.5", "v2.14.4", "v2.15.1"},
		"v2.10.3": {"v2.8.6", "v2.9.5"},
		"v2.4.0":  {"v1.10.6", "v2.0.0", "v2.3.0"},
		"v2.6.0":  {"v2.4.0", "v2.5.0"},
		"v1.8.6":  {"v1.7.6", "v1.8.0"},
	}
	for target, froms := range allowed {
		r := mustGet(t, c, target)
		for _, from := range froms {
			if err := r.CanUpgradeFrom(from); err != nil {
				t.Errorf("%s -> %s: %v", from, target, err)
			}
		}
	}
}

func TestCanUpgradeFromRefusals(t *testing.T) {
	c := mustCatalog(t)
	cases := []struct {
		from, to string
		via      []string
		msg      string
	}{
		{"v1.7.6", "v1.10.0", []string{"v1.8.x"}, "Harbor v1.7.6 cannot be upgraded to v1.10.0 directly: upgrade to v1.8.x first (see https://"},
		// 1.10.18+ keeps PostgreSQL 13 in database/pg13, which 2.0's 9.6 harbor-db never reads.
		{"v1.8.6", "v2.0.0", []string{"v1.10.17"}, "upgrade to v1.10.17 first"},
		{"v1.8.6", "v2.1.6", []string{"v1.10.17"}, "upgrade to v1.10.17 first"},
		{"v1.10.19", "v2.0.6", nil, "its harbor-db runs PostgreSQL 9.6 and upgrades nothing, but v1.10.19 keeps its data in PostgreSQL 13 (database/pg13): it would start on an empty database"},
		{"v1.10.18", "v2.2.4", nil, "PostgreSQL 13 (database/pg13)"},
		{"v2.2.4", "v2.7.4", []string{"v2.4.x", "v2.6.x"}, "upgrade to v2.4.x, then v2.6.x first"},
		{"v2.8.6", "v2.11.2", []string{"v2.10.x"}, "upgrade to v2.10.x first"},
		{"v2.12.4", "v2.15.2", []string{"v2.14.x"}, "upgrade to v2.14.x first"},
		{"v1.8.6", "v2.5.0", []string{"v1.10.x", "v2.4.x"}, "upgrade to v1.10.x, then v2.4.x first"},
		{"v2.3.0", "v2.6.0", []string{"v2.5.x"}, "upgrade to v2.5.x first"},
		{"v1.7.6", "v2.13.0", nil, "upgrade to v1.8.x, then v1.10.x, then v2.4.x"},
		{"v1.10.0", "v1.9.4", nil, "does not support downgrades"},
		{"v1.5.0", "v1.10.0", nil, "no supported upgrade path is known"},
		{"nonsense", "v1.10.0", nil, "unreadable"},
	}
	for _, tc := range cases {
		err := c.CanUpgrade(tc.from, mustGet(t, c, tc.to))
		var pe *PathError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s -> %s: %v; want PathError containing %q", tc.from, tc.to, err, tc.msg)
			continue
		}
		if tc.via != nil && !slices.Equal(pe.Via, tc.via) {
			t.Errorf("%s -> %s: via %v, want %v", tc.from, tc.to, pe.Via, tc.via)
		}
		if pe.ExitCode() != 2 {
			t.Errorf("exit code %d", pe.ExitCode())
		}
	}
	// Without the catalog, the 1.7 advice still comes out.
	err := mustGet(t, c, "v1.10.0").CanUpgradeFrom("v1.7.6")
	if err == nil || !strings.Contains(err.Error(), "upgrade to v1.8.x first") {
		t.Errorf("1.7.6 without catalog: %v", err)
	}
}

func TestAlreadyInstalled(t *testing.T) {
	err := mustGet(t, mustCatalog(t), "v1.10.0").CanUpgradeFrom("v1.10.0-f3e11715")
	var ai *AlreadyInstalledError
	if !errors.As(err, &ai) || ai.ExitCode() != 0 || !strings.Contains(err.Error(), "already installed") {
		t.Fatalf("got %v", err)
	}
}

func TestPostgresStep(t *testing.T) {
	c := mustCatalog(t)
	cases := []struct {
		version, step, dir string
		uses, ignores      []string
	}{
		{"v2.2.4", "9.6", "database", []string{"9.6"}, []string{"13"}},
		{"v2.3.0", "9.6 -> 13", "database/pg13", []string{"9.6", "13"}, []string{"14"}},
		{"v2.7.4", "13", "database/pg13", []string{"13"}, []string{"9.6", "14"}},
		{"v2.11.0", "14 -> 15", "database/pg15", []string{"14", "15"}, []string{"13", "9.6"}},
		{"v2.15.2", "15 -> 18", "database/pg18", []string{"15", "18"}, []string{"14", ""}},
	}
	for _, tc := range cases {
		p := mustGet(t, c, tc.version).Postgres
		if p.String() != tc.step || DataDir(p.Major) != tc.dir {
			t.Errorf("%s: step %s in %s, want %s in %s", tc.version, p, DataDir(p.Major), tc.step, tc.dir)
		}
		for _, m := range tc.uses {
			if !p.Uses(m) {
				t.Errorf("%s does not use PostgreSQL %q data", tc.version, m)
			}
		}
		for _, m := range tc.ignores {
			if p.Uses(m) {
				t.Errorf("%s claims to use PostgreSQL %q data", tc.version, m)
			}
		}
	}
	// Not known (a --catalog entry without postgres): nothing is blocked on its account.
	if (Postgres{}).Known() || (Postgres{}).String() != "unknown" {
		t.Error("zero Postgres is known")
	}
	drops, err := c.Dropped("v2.1.99", mustGet(t, c, "v2.9.0"))
	if err != nil || len(drops) != 3 {
		t.Errorf("unknown installed 2.1.99 -> 2.9.0: %v, %v; want clair, chartmuseum, notary", drops, err)
	}
}
