package report

import (
	"math"
	"strings"
	"testing"
)

func metricsOf(t *testing.T, raw string) map[string]*Metric {
	t.Helper()
	recs, err := ReadRecords(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return Summarise(recs)["s"]
}

// Every size is reported against both the anchor and the .tgz; xz is optional.
func TestSizeRatiosAgainstTheAnchorAndTheInstaller(t *testing.T) {
	m := metricsOf(t, `
{"size":"s","name":"size.payload.default","run":1,"value":1060,"unit":"bytes"}
{"size":"s","name":"size.payload.default","run":2,"value":1060,"unit":"bytes"}
{"size":"s","name":"size.anchor.zstd","run":1,"value":1000,"unit":"bytes"}
{"size":"s","name":"size.offline","run":1,"value":2000,"unit":"bytes"}
`)
	rs := SizeRatios(m)
	if len(rs) != 3 || rs[0].Name != "size.payload.default" || rs[0].VsAnchor != 1.06 || rs[0].VsOffline != 0.53 {
		t.Fatalf("ratios = %+v", rs)
	}
	tab := SizeTable(m)
	if !strings.Contains(tab, "| 1.060x | 0.530x |") || strings.Contains(tab, "xz -9") {
		t.Fatalf("table:\n%s", tab)
	}
	delete(m, "size.offline")
	if r := SizeRatios(m)[0]; !math.IsNaN(r.VsOffline) || !strings.Contains(SizeTable(m), "| 1.060x | n/a |") {
		t.Fatalf("without the .tgz: %+v\n%s", r, SizeTable(m))
	}
}

// The .tgz goal binds on the Debian mix only; the anchor goals on both; 1.06x is met exactly.
func TestRealSoftwareGoalJudgedOnTheDebianMixOnly(t *testing.T) {
	raw := `
{"size":"s","name":"size.payload.default","run":1,"value":1060,"unit":"bytes"}
{"size":"s","name":"size.payload.max","run":1,"value":1020,"unit":"bytes"}
{"size":"s","name":"size.anchor.zstd","run":1,"value":1000,"unit":"bytes"}
{"size":"s","name":"size.offline","run":1,"value":1100,"unit":"bytes"}
`
	for _, c := range []struct{ mix, tgz string }{{MixSynthetic, "not a goal here"}, {"", "not a goal here"}, {MixDebian, "missed"}} {
		gs := Goals(metricsOf(t, raw), c.mix)
		if gs[0].Result() != "met" || gs[1].Result() != "met" {
			t.Errorf("%q: anchor goals %s %s, want met (1.06x <= 1.06x, 1.02x <= 1.02x)", c.mix, gs[0].Result(), gs[1].Result())
		}
		if gs[2].Result() != c.tgz || gs[2].MeasuredRatio() != "0.96x" {
			t.Errorf("%q: .tgz goal %s at %s, want %s at 0.96x", c.mix, gs[2].Result(), gs[2].MeasuredRatio(), c.tgz)
		}
	}
}

func report(size, mix string, bytes int64, payload string) *Report {
	recs, _ := ReadRecords(strings.NewReader(`{"size":"s","name":"size.payload.default","run":1,"value":` + payload + `,"unit":"bytes"}
{"size":"s","name":"size.anchor.zstd","run":1,"value":1000,"unit":"bytes"}
{"size":"s","name":"size.offline","run":1,"value":1200,"unit":"bytes"}`))
	return Build("2026-12-02T12:00:00Z", size, mix, bytes, "make bench", 1, Machine{}, Summarise(recs)["s"], "r")
}

// A goal met on one mix and missed on the other is named, with the size and both mixes.
func TestDisagreementsAreNamedInTheReadme(t *testing.T) {
	reps := []*Report{report("1GiB", MixDebian, 1<<30, "1100"), report("64MiB", MixSynthetic, 64<<20, "1000"),
		report("64MiB", MixDebian, 64<<20, "1000"), report("1GiB", MixSynthetic, 1<<30, "1050")}
	d := Disagreements(reps)
	if len(d) != 1 || d[0] != "payload, default compression (limit anchor) at 1GiB: met on synthetic, missed on debian" {
		t.Fatalf("disagreements = %q", d)
	}
	s := Section(reps, "bench/results")
	order := []string{"64MiB release, synthetic", "64MiB release, debian", "1GiB release, synthetic", "1GiB release, debian"}
	last := -1
	for _, o := range order {
		i := strings.Index(s, o)
		if i <= last {
			t.Fatalf("columns not in size then mix order (%q):\n%s", o, s)
		}
		last = i
	}
	for _, want := range []string{"- " + d[0], "`bench/results/2026-12-02-1GiB-debian.md`", "`bench/results/2026-12-02-1GiB.md`", "1.100x", "0.83x (not a goal on this mix)"} {
		if !strings.Contains(s, want) {
			t.Errorf("section lacks %q:\n%s", want, s)
		}
	}
	if s := Section(reps[1:3], "r"); !strings.Contains(s, "No goal is met on one content mix and missed on the other.") {
		t.Fatalf("agreeing mixes not said so:\n%s", s)
	}
}

// The same-level anchor shows the default payload against zstd -3 over the whole release where a
// run measured it; a row no shown report measured is left out rather than printed as n/a.
func TestSameLevelAnchorRowOnlyWhereMeasured(t *testing.T) {
	const row = "| same-level anchor zstd -3 --long=27 (payload default x it) |"
	old := report("1GiB", MixDebian, 1<<30, "1100")
	if s := Section([]*Report{old}, "r"); strings.Contains(s, row) {
		t.Fatalf("row printed without a measurement:\n%s", s)
	}
	recs, _ := ReadRecords(strings.NewReader(`{"size":"s","name":"size.payload.default","run":1,"value":1100,"unit":"bytes"}
{"size":"s","name":"size.anchor.zstd3","run":1,"value":1000,"unit":"bytes"}`))
	fresh := Build("2026-12-03T12:00:00Z", "1GiB", MixSynthetic, 1<<30, "make bench", 1, Machine{}, Summarise(recs)["s"], "r")
	s := Section([]*Report{fresh, old}, "r")
	if !strings.Contains(s, row+" 1000 B (1.100x) | n/a (n/a) |") {
		t.Fatalf("same-level anchor row missing or wrong:\n%s", s)
	}
}

// The pipe floor row gives the load step's time against cat | docker load of the same archive,
// and only where a run measured it (results files before it stay as they were).
func TestPipeFloorRowOnlyWhereMeasured(t *testing.T) {
	const row = "| images loaded: pipe floor, the floor archive piped into docker load by cat (bundle x it) |"
	old := report("1GiB", MixSynthetic, 1<<30, "1100")
	if s := Section([]*Report{old}, "r"); strings.Contains(s, row) {
		t.Fatalf("row printed without a measurement:\n%s", s)
	}
	recs, _ := ReadRecords(strings.NewReader(`{"size":"s","name":"load.ours","run":1,"wall_s":12}
{"size":"s","name":"load.floor","run":1,"wall_s":9}
{"size":"s","name":"load.pipe","run":1,"wall_s":10}`))
	fresh := Build("2026-12-07T12:00:00Z", "1GiB", MixSynthetic, 1<<30, "make bench", 1, Machine{}, Summarise(recs)["s"], "r")
	s := Section([]*Report{fresh, old}, "r")
	if !strings.Contains(s, row+" 10.00 s (1.200x) | n/a (n/a) |") {
		t.Fatalf("pipe floor row missing or wrong (want the bundle over the pipe floor, not the file floor):\n%s", s)
	}
}

// A "|" in a row's label would split the README table's row into one more column.
func TestFigureLabelsKeepTheTableShape(t *testing.T) {
	for _, row := range figureRows {
		if strings.Contains(strings.ReplaceAll(row.label, `\|`, ""), "|") {
			t.Errorf("figure label %q has an unescaped |", row.label)
		}
	}
}
