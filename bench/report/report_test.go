package report

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestNewStatMedianAndSpread(t *testing.T) {
	s := NewStat([]float64{3, 1, 2, 10})
	if s.Median != 2.5 || s.Min != 1 || s.Max != 10 || s.N != 4 {
		t.Fatalf("stat = %+v, want median 2.5, min 1, max 10, n 4", s)
	}
	if got := NewStat([]float64{4, 2, 9}).Median; got != 4 {
		t.Fatalf("odd median = %v, want 4", got)
	}
	if got := (Stat{Median: 2, Min: 1, Max: 3, N: 3}).Spread(); got != 1 {
		t.Fatalf("spread = %v, want 1", got)
	}
}

const raw = `
{"size":"1GiB","name":"build.crane","run":1,"wall_s":10}
{"size":"1GiB","name":"build.crane","run":2,"wall_s":12}
{"size":"1GiB","name":"build.crane","run":3,"wall_s":11}
{"size":"1GiB","name":"build.keep.cold","run":1,"wall_s":11,"rss_kib":20480}
{"size":"1GiB","name":"build.keep.cold","run":2,"wall_s":99,"exit":1}
{"size":"1GiB","name":"size.run.default","run":1,"value":850,"unit":"bytes"}
{"size":"1GiB","name":"size.offline","run":1,"value":1000,"unit":"bytes"}
{"size":"1GiB","name":"size.run.max","run":1,"value":900,"unit":"bytes"}
{"size":"1GiB","name":"size.payload.default","run":1,"value":830,"unit":"bytes"}
{"size":"1GiB","name":"size.payload.max","run":1,"value":820,"unit":"bytes"}
{"size":"1GiB","name":"size.anchor.zstd","run":1,"value":800,"unit":"bytes"}
{"size":"1GiB","name":"blobs.warm","run":1,"value":0,"unit":"blobs"}
{"size":"1GiB","name":"upgrade.ours","run":1,"wall_s":60,"rss_kib":90000,"self_rss_kib":30000,"disk_bytes":1048576}
{"size":"250MiB","name":"build.crane","run":1,"wall_s":3}
`

func TestSummariseLeavesFailedRunsOut(t *testing.T) {
	recs, err := ReadRecords(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	m := Summarise(recs)
	if len(m) != 2 {
		t.Fatalf("sizes = %d, want 2", len(m))
	}
	keep := m["1GiB"]["build.keep.cold"]
	if keep.Failed != 1 || keep.Wall.N != 1 || keep.Wall.Median != 11 {
		t.Fatalf("keep = %+v wall %+v, want the failed run counted and left out", keep, keep.Wall)
	}
	if w := m["1GiB"]["build.crane"].Wall; w.Median != 11 || w.Min != 10 || w.Max != 12 {
		t.Fatalf("crane wall = %+v", w)
	}
	if v := m["1GiB"]["blobs.warm"].Value; v == nil || v.Median != 0 {
		t.Fatalf("a zero value must still be recorded, got %+v", v)
	}
}

func TestReadRecordsNamesTheBadLine(t *testing.T) {
	_, err := ReadRecords(strings.NewReader("{\"size\":\"a\",\"name\":\"b\"}\nnot json\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v, want it to name line 2", err)
	}
	if _, err := ReadRecords(strings.NewReader(`{"name":"b"}`)); err == nil {
		t.Fatal("a record without size was accepted")
	}
}

func goalsOf(t *testing.T) map[string]Goal { return goalsOfMix(t, MixSynthetic) }

func goalsOfMix(t *testing.T, mix string) map[string]Goal {
	t.Helper()
	recs, err := ReadRecords(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Goal{}
	for _, g := range Goals(Summarise(recs)["1GiB"], mix) {
		out[g.What+" / "+strings.SplitN(g.Peer, ":", 2)[0]] = g
	}
	return out
}

func TestGoalsMetMissedAndNotMeasured(t *testing.T) {
	gs := goalsOf(t)
	cases := []struct {
		key, result string
		ratio       float64
	}{
		{"payload, default compression / limit anchor", "met", 830.0 / 800},
		{"payload, --level max / limit anchor", "missed", 820.0 / 800},
		{"payload, default compression / offline installer .tgz (docker save + gzip)", "not a goal here", 0.83},
		{"cold build, --compression keep / crane pull --format oci", "met", 1},
		{"blobs fetched by the warm rebuild / ", "met", 0},
		{"cold build, default compression / crane pull --format oci", "not measured", 0},
	}
	for _, c := range cases {
		g, ok := gs[c.key]
		if !ok {
			t.Fatalf("no goal %q in %v", c.key, gs)
		}
		if g.Result() != c.result || (c.result != "not measured" && math.Abs(g.Ratio-c.ratio) > 1e-9) {
			t.Errorf("%s: %s at %v, want %s at %v", c.key, g.Result(), g.Ratio, c.result, c.ratio)
		}
	}
}

func TestMemoryGoalUsesTheProcessItself(t *testing.T) {
	for k, g := range goalsOf(t) {
		if strings.HasPrefix(k, "peak memory, air-gapped") {
			if g.Ours != "29.3 MiB" || g.Result() != "met" {
				t.Fatalf("memory goal = %+v, want the upgrade's own 29.3 MiB, met", g)
			}
			return
		}
	}
	t.Fatal("no air-gapped memory goal")
}

func TestAnAbsoluteGoalNotMeasuredPrintsNA(t *testing.T) {
	for k, g := range goalsOf(t) {
		if strings.HasPrefix(k, "extra disk") && (g.Ours != "n/a" || g.Result() != "not measured") {
			t.Fatalf("%s: ours %q, %s; want n/a, not measured", k, g.Ours, g.Result())
		}
	}
}

func TestReportJSONRoundTripAndMarkdown(t *testing.T) {
	recs, _ := ReadRecords(strings.NewReader(raw))
	rep := Build("2026-11-25T19:00:00Z", "1GiB", MixSynthetic, 1<<30, "make bench", 3, Machine{NProc: 2}, Summarise(recs)["1GiB"], "x.raw.jsonl")
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err) // a NaN anywhere would fail here
	}
	back, err := ReadReport(&buf)
	if err != nil || back.Size != "1GiB" || len(back.Goals) != len(rep.Goals) {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| payload, default compression |", "| limit anchor: zstd -19 --long=27 of the uncompressed docker-archive | 800 B | 1.000x | 0.800x |", "**met**", "**not a goal here** (a goal on real software (the debian mix) only)", "**missed**", "**not measured**", "(1 failed runs left out)"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
}

func TestReplaceSection(t *testing.T) {
	in := "# x\n" + StartMarker + "\nold\n" + EndMarker + "\nrest\n"
	out, err := ReplaceSection(in, "new table")
	if err != nil {
		t.Fatal(err)
	}
	if want := "# x\n" + StartMarker + "\nnew table\n" + EndMarker + "\nrest\n"; out != want {
		t.Fatalf("got %q, want %q", out, want)
	}
	if _, err := ReplaceSection("no markers", "x"); err == nil {
		t.Fatal("a README without markers was accepted")
	}
}

func TestSectionOrdersSizesAndHasNoHandTypedFigures(t *testing.T) {
	recs, _ := ReadRecords(strings.NewReader(raw))
	sum := Summarise(recs)
	big := Build("2026-11-25T19:00:00Z", "1GiB", MixSynthetic, 1<<30, "make bench", 3, Machine{}, sum["1GiB"], "a")
	small := Build("2026-11-25T19:00:00Z", "250MiB", "", 250<<20, "make bench", 3, Machine{}, sum["250MiB"], "b")
	s := Section([]*Report{big, small}, "bench/results")
	if i, j := strings.Index(s, "250MiB release, synthetic"), strings.Index(s, "1GiB release, synthetic"); i < 0 || j < 0 || i > j {
		t.Fatalf("sizes not in ascending order:\n%s", s)
	}
	if !strings.Contains(s, "1.04x ✅") || !strings.Contains(s, "bench/results/2026-11-25-1GiB.md") {
		t.Fatalf("section lacks the measured ratio or the results file:\n%s", s)
	}
}

func TestRatioNeverPrintsAsTheLimitItMissed(t *testing.T) {
	g := ratioGoal("x", "y", 1.154, 1, fmtSeconds, 1.15)
	if g.Result() != "missed" || g.MeasuredRatio() != "1.154x" {
		t.Fatalf("%s %s, want missed 1.154x", g.Result(), g.MeasuredRatio())
	}
	if got := ratioGoal("x", "y", 0.5, 1, fmtSeconds, 1.15).MeasuredRatio(); got != "0.50x" {
		t.Fatalf("got %s", got)
	}
}
