package report

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// The README section this package owns lies between these markers.
const (
	StartMarker = "<!-- bench:start -->"
	EndMarker   = "<!-- bench:end -->"
)

// ReplaceSection puts section between the markers of readme, replacing what was there.
func ReplaceSection(readme, section string) (string, error) {
	i := strings.Index(readme, StartMarker)
	j := strings.Index(readme, EndMarker)
	if i < 0 || j < i {
		return "", errors.New("README has no " + StartMarker + " ... " + EndMarker + " section: add the markers first")
	}
	return readme[:i+len(StartMarker)] + "\n" + strings.TrimSpace(section) + "\n" + readme[j:], nil
}

// Section renders the README section from the latest report of each size: the Performance
// tables, every figure from the reports, none typed by hand. The prose around them (what bundle
// is, how it works) lives in README.md itself, outside the markers, so a bench run never turns
// it back into an older text.
func Section(reports []*Report, resultsDir string) string {
	reps := append([]*Report(nil), reports...)
	sort.SliceStable(reps, func(i, j int) bool {
		if reps[i].SizeBytes != reps[j].SizeBytes {
			return reps[i].SizeBytes < reps[j].SizeBytes
		}
		return mixOrder(reps[i]) < mixOrder(reps[j])
	})
	var b strings.Builder
	b.WriteString("## Performance\n\n")
	if len(reps) == 0 {
		b.WriteString("No `make bench` results yet.\n\n")
	} else {
		performance(&b, reps, resultsDir)
	}
	return b.String()
}

func performance(b *strings.Builder, reps []*Report, resultsDir string) {
	first := reps[0]
	fmt.Fprintf(b, "Measured side by side in one run by `%s` on the fake Harbor 1.10.0 release "+
		"(16 images; see internal/fakeharbor) with two content mixes: synthetic (generated, "+
		"mixed-compressibility files) and debian (files of real Debian packages placed as in the real "+
		"images: PostgreSQL in harbor-db, nginx in the proxy, redis, Python in prepare, Go programs in "+
		"the Go services), %d runs of each figure, median; sizes are the same in every run. "+
		"%s Raw output and every measurement with its spread: ",
		first.Command, first.Runs, MachineLine(first.Machine))
	for i, r := range reps {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(b, "`%s/%s`", resultsDir, ResultName(r)+".md")
	}
	b.WriteString(". `make bench-large` adds the 3 GB release.\n\n")

	b.WriteString("Goals from the design, as ratios against the peer measured in the same run:\n\n")
	header(b, "figure | peer | goal", reps)
	for i, g := range first.Goals {
		fmt.Fprintf(b, "| %s | %s | %s |", g.What, strings.SplitN(g.Peer, ":", 2)[0], g.Goal)
		for _, r := range reps {
			if i < len(r.Goals) {
				fmt.Fprintf(b, " %s %s |", r.Goals[i].MeasuredRatio(), mark(r.Goals[i]))
			} else {
				b.WriteString(" |")
			}
		}
		b.WriteString("\n")
	}
	if d := Disagreements(reps); len(d) > 0 {
		b.WriteString("\nGoals met on one content mix and missed on the other:\n\n")
		for _, x := range d {
			b.WriteString("- " + x + "\n")
		}
	} else {
		b.WriteString("\nNo goal is met on one content mix and missed on the other.\n")
	}
	b.WriteString("\nThe figures behind them (median):\n\n")
	header(b, "figure", reps)
	for _, row := range figureRows {
		cells, measured := make([]string, len(reps)), false
		for i, r := range reps {
			cells[i] = row.cell(r.Metrics)
			measured = measured || !strings.HasPrefix(cells[i], "n/a")
		}
		if !measured { // a figure newer than every results file shown (or one no run measured)
			continue
		}
		fmt.Fprintf(b, "| %s | %s |\n", row.label, strings.Join(cells, " | "))
	}
	fmt.Fprintf(b, "\nThe test .run is %s of incompressible data made with payload.Writer "+
		"(benchtool bigrun), read exactly as a release bundle is. ", cell("verify.bytes", valueOf, fmtBytes)(first.Metrics))
	b.WriteString("Peak RSS is the largest resident set of the command and the processes it waited for " +
		"(`docker load`'s work happens in dockerd and is not counted for anyone); extra disk is the peak " +
		"growth of the host's install, backup and temp directories during the upgrade, image storage in " +
		"Docker excluded (the same for every path).\n\n")
}

func header(b *strings.Builder, first string, reps []*Report) {
	cols := strings.Count(first, "|") + 1
	fmt.Fprintf(b, "| %s |", first)
	for _, r := range reps {
		fmt.Fprintf(b, " %s release, %s |", r.Size, r.MixName())
	}
	b.WriteString("\n|" + strings.Repeat("---|", cols+len(reps)) + "\n")
}

func mark(g Goal) string {
	switch g.Result() {
	case "met":
		return "✅"
	case "missed":
		return "❌"
	case "not a goal here":
		return "(not a goal on this mix)"
	}
	return ""
}

func dateOnly(rfc3339 string) string {
	if len(rfc3339) >= 10 {
		return rfc3339[:10]
	}
	return rfc3339
}

type figureRow struct {
	label string
	cell  func(map[string]*Metric) string
}

func wallOf(m *Metric) *Stat    { return m.Wall }
func valueOf(m *Metric) *Stat   { return m.Value }
func rssOf(m *Metric) *Stat     { return m.PeakRSS }
func diskOf(m *Metric) *Stat    { return m.Disk }
func selfRSSOf(m *Metric) *Stat { return m.SelfRSS }

func cell(name string, field func(*Metric) *Stat, format func(float64) string) func(map[string]*Metric) string {
	return func(m map[string]*Metric) string {
		v := median(m[name], field)
		if math.IsNaN(v) {
			return "n/a"
		}
		return format(v)
	}
}

func kib(v float64) string { return fmtBytes(v * 1024) }

var figureRows = []figureRow{
	{"image content, uncompressed docker-archive", cell("size.floor", valueOf, fmtBytes)},
	{"limit anchor zstd -19 --long=27 / xz -9 -T1 (x .tgz)", func(m map[string]*Metric) string {
		return pair(cell("size.anchor.zstd", valueOf, fmtBytes), cell("size.anchor.xz", valueOf, fmtBytes))(m) +
			" (" + vsOffline("size.anchor.zstd")(m) + " / " + vsOffline("size.anchor.xz")(m) + ")"
	}},
	{"payload, default / `--level max` (x anchor; x .tgz)", func(m map[string]*Metric) string {
		return pair(cell("size.payload.default", valueOf, fmtBytes), cell("size.payload.max", valueOf, fmtBytes))(m) +
			" (" + vsAnchor("size.payload.default")(m) + " / " + vsAnchor("size.payload.max")(m) + "; " +
			vsOffline("size.payload.default")(m) + " / " + vsOffline("size.payload.max")(m) + ")"
	}},
	// The default level against the same level over the whole release: how much of the gap to
	// the limit anchor is cross-layer redundancy (per-layer blobs cannot see it) rather than level.
	{"same-level anchor zstd -3 --long=27 (payload default x it)", func(m map[string]*Metric) string {
		return cell("size.anchor.zstd3", valueOf, fmtBytes)(m) + " (" + sizeRatio("size.payload.default", "size.anchor.zstd3")(m) + ")"
	}},
	{"bundle .run, default / `--level max`", pair(cell("size.run.default", valueOf, fmtBytes), cell("size.run.max", valueOf, fmtBytes))},
	{"offline installer .tgz / its makeself .run", pair(cell("size.offline", valueOf, fmtBytes), cell("size.makeself", valueOf, fmtBytes))},
	{"cold build: keep / default / `--level max`", triple(cell("build.keep.cold", wallOf, fmtSeconds), cell("build.default.cold", wallOf, fmtSeconds), cell("build.max.cold", wallOf, fmtSeconds))},
	{"warm rebuild (blobs fetched)", func(m map[string]*Metric) string {
		return cell("build.default.warm", wallOf, fmtSeconds)(m) + " (" + cell("blobs.warm", valueOf, func(v float64) string { return fmt.Sprintf("%.0f", v) })(m) + ")"
	}},
	{"crane pull / skopeo copy", pair(cell("build.crane", wallOf, fmtSeconds), cell("build.skopeo", wallOf, fmtSeconds))},
	{"images loaded: bundle / floor / manual", triple(cell("load.ours", wallOf, fmtSeconds), cell("load.floor", wallOf, fmtSeconds), cell("load.manual", wallOf, fmtSeconds))},
	// The floor of any stream into docker load's stdin (the load step's way in): how much of the
	// gap to the file floor is docker reading a pipe rather than our decompression and hashing.
	{"images loaded: pipe floor, the floor archive piped into docker load by cat (bundle x it)", func(m map[string]*Metric) string {
		return cell("load.pipe", wallOf, fmtSeconds)(m) + " (" + timeRatio("load.ours", "load.pipe")(m) + ")"
	}},
	{"whole upgrade: bundle / manual guide / makeself + guide", triple(cell("upgrade.ours", wallOf, fmtSeconds), cell("upgrade.manual", wallOf, fmtSeconds), cell("upgrade.makeself", wallOf, fmtSeconds))},
	{"peak RSS of the upgrade with its children: bundle (its own process) / manual / makeself", triple(func(m map[string]*Metric) string {
		return cell("upgrade.ours", rssOf, kib)(m) + " (" + cell("upgrade.ours", selfRSSOf, kib)(m) + ")"
	}, cell("upgrade.manual", rssOf, kib), cell("upgrade.makeself", rssOf, kib))},
	{"extra disk of the upgrade: bundle / manual / makeself", triple(cell("upgrade.ours", diskOf, fmtBytes), cell("upgrade.manual", diskOf, fmtBytes), cell("upgrade.makeself", diskOf, fmtBytes))},
	{"verify: bundle / sha256sum (test .run)", pair(throughput("verify.ours"), throughput("verify.sha256sum"))},
	{"peak RSS: verify / check / extract (test .run)", triple(cell("verify.ours", rssOf, kib), cell("check.ours", rssOf, kib), cell("extract.ours", rssOf, kib))},
}

func sizeRatio(name string, ref string) func(map[string]*Metric) string {
	return medianRatio(valueOf, name, ref)
}

func timeRatio(name string, ref string) func(map[string]*Metric) string {
	return medianRatio(wallOf, name, ref)
}

// medianRatio is name's median over ref's, of the same field.
func medianRatio(field func(*Metric) *Stat, name, ref string) func(map[string]*Metric) string {
	return func(m map[string]*Metric) string {
		return fmtRatio(median(m[name], field) / median(m[ref], field))
	}
}

func vsAnchor(name string) func(map[string]*Metric) string {
	return sizeRatio(name, "size.anchor.zstd")
}
func vsOffline(name string) func(map[string]*Metric) string { return sizeRatio(name, "size.offline") }

// mixOrder puts the synthetic mix first, as the results before the mixes were.
func mixOrder(r *Report) int {
	if r.MixName() == MixSynthetic {
		return 0
	}
	return 1
}

// ResultName is the results files' name of a report, without extension: <date>-<size> for the
// synthetic mix (as before the mixes), <date>-<size>-<mix> for the others.
func ResultName(r *Report) string {
	n := dateOnly(r.Date) + "-" + r.Size
	if r.MixName() != MixSynthetic {
		n += "-" + r.MixName()
	}
	return n
}

func pair(a, b func(map[string]*Metric) string) func(map[string]*Metric) string {
	return func(m map[string]*Metric) string { return a(m) + " / " + b(m) }
}

func triple(a, b, c func(map[string]*Metric) string) func(map[string]*Metric) string {
	return func(m map[string]*Metric) string { return a(m) + " / " + b(m) + " / " + c(m) }
}

func throughput(name string) func(map[string]*Metric) string {
	return func(m map[string]*Metric) string {
		v := median(m["verify.bytes"], valueOf) / median(m[name], wallOf) / 1e9
		if math.IsNaN(v) {
			return "n/a"
		}
		return fmt.Sprintf("%.2f GB/s", v)
	}
}
