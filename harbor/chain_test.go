package harbor

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestChainsRealCatalog plans chains on the built-in catalog and holds each to the rules it
// must satisfy: every hop accepts the one before it (documented path and PostgreSQL step), the
// last hop is the target, and no shorter chain exists (exhaustive search, independent of BFS).
func TestChainsRealCatalog(t *testing.T) {
	c := mustCatalog(t)
	cases := []struct{ from, to, want string }{
		{"1.8.6", "2.15.2", "v1.10.19 v2.4.3 v2.6.4 v2.8.6 v2.10.3 v2.12.4 v2.14.4 v2.15.2"},
		{"1.9.4", "2.4.3", "v1.10.19 v2.4.3"},
		{"1.10.0", "2.15.2", "v2.4.3 v2.6.4 v2.8.6 v2.10.3 v2.12.4 v2.14.4 v2.15.2"},
		{"2.2.4", "2.15.2", "v2.4.3 v2.6.4 v2.8.6 v2.10.3 v2.12.4 v2.14.4 v2.15.2"},
		{"2.8.6", "2.10.3", "v2.10.3"},
		{"1.9.4", "1.10.0", "v1.10.0"},
		{"1.10.0", "2.4.3", "v2.4.3"},
		{"2.14.0", "2.15.2", "v2.15.2"},
	}
	// Every line's latest release to 2.15.2.
	target := mustGet(t, c, "v2.15.2")
	for i, r := range c.releases {
		if (i+1 == len(c.releases) || !c.releases[i+1].v.SameLine(r.v)) && r.v.Compare(target.v) < 0 {
			cases = append(cases, struct{ from, to, want string }{r.Version, "v2.15.2", ""})
		}
	}
	for _, tc := range cases {
		to := mustGet(t, c, tc.to)
		ch, err := c.ChainFrom(tc.from, to)
		if err != nil {
			t.Errorf("%s -> %s: %v", tc.from, tc.to, err)
			continue
		}
		got := strings.Join(ch.Versions(), " ")
		if tc.want != "" && got != tc.want {
			t.Errorf("%s -> %s: chain %s, want %s", tc.from, tc.to, got, tc.want)
		}
		checkChain(t, c, ch, to)
		if shorter := existsChain(c, chainVersion(t, tc.from), to, len(ch.Hops)-1); shorter {
			t.Errorf("%s -> %s: a chain shorter than %s exists", tc.from, tc.to, got)
		}
	}
}

func checkChain(t *testing.T, c *Catalog, ch Chain, target *Release) {
	t.Helper()
	if len(ch.Hops) == 0 || ch.Hops[len(ch.Hops)-1] != target {
		t.Fatalf("chain %v does not end at %s", ch.Versions(), target.Version)
	}
	prev := chainVersion(t, ch.From)
	for _, h := range ch.Hops {
		if !h.AcceptsFrom(prev) {
			t.Errorf("chain %s %v: %s does not accept %s", ch.From, ch.Versions(), h.Version, prev)
		}
		prev = h.v
	}
}

// existsChain: is there a chain of at most maxHops releases? Dynamic programming over the
// releases (versions only grow along a chain), independent of the planner's breadth-first search.
func existsChain(c *Catalog, from Version, target *Release, maxHops int) bool {
	memo := map[Version]int{}
	var minHops func(v Version) int
	minHops = func(v Version) int {
		if n, ok := memo[v]; ok {
			return n
		}
		best := 1 << 30
		if target.AcceptsFrom(v) {
			best = 1
		}
		for _, r := range c.releases {
			if r.v.Compare(v) > 0 && r.v.Compare(target.v) < 0 && r.AcceptsFrom(v) {
				best = min(best, 1+minHops(r.v))
			}
		}
		memo[v] = best
		return best
	}
	return minHops(from) <= maxHops
}

func TestChainRefusals(t *testing.T) {
	c := mustCatalog(t)
	target := mustGet(t, c, "v2.15.2")
	var pe *PathError
	_, err := c.ChainFrom("1.7.6", target)
	if !errors.As(err, &pe) || pe.ExitCode() != 2 || !strings.Contains(err.Error(), "upgrade to v1.8.x, then v1.10.x, then v2.4.x") {
		t.Errorf("1.7.6: %v; want a PathError naming the chain from v1.8.x", err)
	}
	if _, err := c.ChainFrom("2.15.2", target); !errors.As(err, new(*AlreadyInstalledError)) {
		t.Errorf("same version: %v", err)
	}
	if _, err := c.ChainFrom("2.15.2", mustGet(t, c, "v2.10.3")); !errors.As(err, &pe) || !strings.Contains(err.Error(), "downgrades") {
		t.Errorf("downgrade: %v", err)
	}
	for _, bad := range []string{"1.10.99", "3.0", "banana"} {
		var ue *UnknownReleaseError
		if _, err := c.FromVersions([]string{bad}, target); !errors.As(err, &ue) || ue.ExitCode() != 2 || strings.Contains(err.Error(), "\n") {
			t.Errorf("--from %s: %v; want a one-line UnknownReleaseError", bad, err)
		}
	}
}

// TestPlanChainsLine: --from 1.10 is every 1.10 patch; their chains join into one set of hops,
// each chain valid, and the union holds no release no chain uses.
func TestPlanChainsLine(t *testing.T) {
	c := mustCatalog(t)
	target := mustGet(t, c, "v2.15.2")
	froms, err := c.FromVersions([]string{"1.10", "v1.8.6,2.2.4"}, target)
	if err != nil {
		t.Fatal(err)
	}
	if len(froms) != 22 || froms[0].String() != "v1.8.6" || froms[len(froms)-1].String() != "v2.2.4" {
		t.Fatalf("froms %v: want v1.8.6, the 20 1.10 patches, v2.2.4", froms)
	}
	p, err := c.PlanChains(froms, target)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(versionsOf(p.Hops), " "); got != "v1.10.19 v2.4.3 v2.6.4 v2.8.6 v2.10.3 v2.12.4 v2.14.4 v2.15.2" {
		t.Errorf("union %s", got)
	}
	inUse := map[*Release]bool{}
	for _, ch := range p.Chains {
		checkChain(t, c, ch, target)
		for _, h := range ch.Hops {
			inUse[h] = true
		}
	}
	if len(inUse) != len(p.Hops) || len(p.Chains) != len(froms) {
		t.Errorf("%d hops for %d used releases, %d chains for %d froms", len(p.Hops), len(inUse), len(p.Chains), len(froms))
	}
	if got := p.EntersFrom(mustGet(t, c, "v2.4.3")); len(got) != 21 || !slices.Contains(got, "v1.10.19") || !slices.Contains(got, "v2.2.4") {
		t.Errorf("2.4.3 entered from %v", got)
	}
	// 1.10.19 -> 2.4.3 keeps _version 1.10.0 -> 2.4.0: migrates; 2.15.2 from 2.14.4 too.
	if !p.MigratesConfig(c, mustGet(t, c, "v2.4.3")) {
		t.Error("2.4.3 hop should migrate harbor.yml")
	}
	// The PostgreSQL 9.6 -> 13 step is in 2.4.3's estimate, not in 2.6.4's.
	if a, b := p.EstimateSeconds(c, mustGet(t, c, "v2.4.3"), 0), p.EstimateSeconds(c, mustGet(t, c, "v2.6.4"), 0); a-b < hopPGUpgradeSecond {
		t.Errorf("estimates 2.4.3 %ds, 2.6.4 %ds: the pg_upgrade hop should cost more", a, b)
	}
}

// TestPlanChainsPreferShared: with a shared intermediate already in the plan, an equally short
// chain through it wins over one through a newer release.
func TestPlanChainsPreferShared(t *testing.T) {
	c := mustCatalog(t)
	target := mustGet(t, c, "v2.6.4")
	// 2.2.4 -> 2.4.3 -> 2.6.4 and 2.3.5 -> 2.6.4 direct (2.6 accepts 2.4.x, 2.5.x only: 2.3.5
	// needs a hop too, 2.4.3 or 2.5.6; sharing picks 2.4.3).
	froms := []Version{chainVersion(t, "2.2.4"), chainVersion(t, "2.3.5")}
	p, err := c.PlanChains(froms, target)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(versionsOf(p.Hops), " "); got != "v2.4.3 v2.6.4" {
		t.Errorf("hops %s, want v2.4.3 v2.6.4 (shared)", got)
	}
}

func chainVersion(t *testing.T, s string) Version {
	t.Helper()
	v, err := ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
