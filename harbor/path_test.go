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
		"v2.0.0":  {"v1.9.4", "v1.10.19"},
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
		{"v1.8.6", "v2.0.0", []string{"v1.10.x"}, "upgrade to v1.10.x first"},
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
