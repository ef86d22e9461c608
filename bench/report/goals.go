package report

import (
	"fmt"
	"math"
)

// Goal is one line of DESIGN.md's "Numbers we hold ourselves to", evaluated on one release size.
type Goal struct {
	What   string  `json:"what"`
	Peer   string  `json:"peer"`
	Ours   string  `json:"ours"`  // the measured figure, formatted
	Other  string  `json:"other"` // the peer's figure, formatted ("" when the goal is absolute)
	Ratio  float64 `json:"ratio"` // ours/peer, or the absolute figure for absolute goals
	Goal   string  `json:"goal"`  // "<= 0.92x"
	Limit  float64 `json:"limit"`
	AtMost bool    `json:"at_most"` // true: ratio <= limit is met; false: ratio >= limit
	// Met is nil when a figure the goal needs was not measured (a failed or skipped step), or
	// when the goal does not apply to this mix (Note says why).
	Met  *bool  `json:"met"`
	Note string `json:"note,omitempty"`
}

// MeasuredRatio formats the ratio as the tables print it.
func (g Goal) MeasuredRatio() string {
	if g.Met == nil && (g.Note == "" || g.Ratio == 0) {
		return "n/a"
	}
	if g.Other == "" {
		return g.Ours
	}
	r := fmt.Sprintf("%.2fx", g.Ratio)
	if r == fmt.Sprintf("%.2fx", g.Limit) && g.Ratio != g.Limit {
		r = fmt.Sprintf("%.3fx", g.Ratio) // 1.154x must not print as the 1.15x it missed
	}
	return r
}

// Result is "met", "missed", "not measured" or "not a goal here".
func (g Goal) Result() string {
	switch {
	case g.Met == nil && g.Note != "":
		return "not a goal here"
	case g.Met == nil:
		return "not measured"
	case *g.Met:
		return "met"
	}
	return "missed"
}

// hostMemoryNames are the air-gapped side's commands the 64 MiB memory goal applies to.
var hostMemoryNames = []string{"upgrade.ours", "load.ours", "verify.ours", "check.ours", "extract.ours"}

// buildMemoryNames are the connected side's commands, held to the same goal.
var buildMemoryNames = []string{"build.keep.cold", "build.default.cold", "build.default.warm", "build.max.cold"}

// Mixes of the fake release's content (fakeharbor Options.Content); a report without one is of
// the synthetic mix (results before the Debian mix existed).
const (
	MixSynthetic = "synthetic"
	MixDebian    = "debian"
)

// Peers of the size goals.
const (
	peerAnchor  = "limit anchor: zstd -19 --long=27 of the uncompressed docker-archive"
	peerOffline = "offline installer .tgz (docker save + gzip)"
)

// Goals evaluates every goal on the metrics of one size and mix. Every mix gets the same list in
// the same order (the README puts them side by side); a goal DESIGN.md sets on real software only
// is shown on the synthetic mix with its ratio but judged on the Debian mix alone.
func Goals(m map[string]*Metric, mix string) []Goal {
	wall := func(name string) float64 { return median(m[name], func(x *Metric) *Stat { return x.Wall }) }
	value := func(name string) float64 { return median(m[name], func(x *Metric) *Stat { return x.Value }) }
	disk := func(name string) float64 { return median(m[name], func(x *Metric) *Stat { return x.Disk }) }
	realOnly := ratioGoal("payload, default compression", peerOffline, value("size.payload.default"), value("size.offline"), fmtBytes, 0.92)
	if mix != MixDebian {
		realOnly = realOnly.shownOnly("a goal on real software (the debian mix) only")
	}
	gs := []Goal{
		ratioGoal("payload, default compression", peerAnchor, value("size.payload.default"), value("size.anchor.zstd"), fmtBytes, 1.06),
		ratioGoal("payload, --level max", peerAnchor, value("size.payload.max"), value("size.anchor.zstd"), fmtBytes, 1.02),
		realOnly,
		ratioGoal("cold build, --compression keep", "crane pull --format oci", wall("build.keep.cold"), wall("build.crane"), fmtSeconds, 1.2),
		ratioGoal("cold build, default compression", "crane pull --format oci", wall("build.default.cold"), wall("build.crane"), fmtSeconds, 2.5),
		ratioGoal("warm rebuild (cache)", "cold build, default compression", wall("build.default.warm"), wall("build.default.cold"), fmtSeconds, 0.2),
		absGoal("blobs fetched by the warm rebuild", value("blobs.warm"), func(v float64) string { return fmt.Sprintf("%.0f", v) }, 0, true),
		ratioGoal("images-loaded time", "floor: docker load -i of an uncompressed docker-archive", wall("load.ours"), wall("load.floor"), fmtSeconds, 1.10),
		ratioGoal("images-loaded time", "manual: tar xzf offline installer + docker load -i", wall("load.ours"), wall("load.manual"), fmtSeconds, 0.75),
		verifyGoal(m),
		memoryGoal("peak memory, air-gapped side ("+joinNames(hostMemoryNames)+")", m, hostMemoryNames),
		memoryGoal("peak memory, connected side (bundle build)", m, buildMemoryNames),
		diskGoal(disk("upgrade.ours"), value("size.installer_files"), disk("upgrade.makeself")),
	}
	return gs
}

// shownOnly keeps the figures and the ratio but judges nothing: the goal does not apply here.
func (g Goal) shownOnly(why string) Goal {
	g.Met, g.Note = nil, why
	return g
}

func median(x *Metric, field func(*Metric) *Stat) float64 {
	if x == nil || field(x) == nil {
		return math.NaN()
	}
	return field(x).Median
}

func ratioGoal(what, peer string, ours, other float64, format func(float64) string, limit float64) Goal {
	g := Goal{What: what, Peer: peer, Ours: format(ours), Other: format(other), Ratio: ours / other,
		Goal: fmt.Sprintf("<= %.2fx", limit), Limit: limit, AtMost: true}
	return g.judge()
}

func absGoal(what string, v float64, format func(float64) string, limit float64, atMost bool) Goal {
	op := ">="
	if atMost {
		op = "<="
	}
	g := Goal{What: what, Ours: format(v), Ratio: v, Goal: op + " " + format(limit), Limit: limit, AtMost: atMost}
	if math.IsNaN(v) {
		g.Ours = "n/a" // not "NaN MiB"
	}
	return g.judge()
}

func (g Goal) judge() Goal {
	if math.IsNaN(g.Ratio) || math.IsInf(g.Ratio, 0) {
		g.Ratio = 0 // JSON has no NaN; Met nil says "not measured"
		return g
	}
	met := g.Ratio >= g.Limit
	if g.AtMost {
		met = g.Ratio <= g.Limit
	}
	g.Met = &met
	return g
}

// verifyGoal is throughput in GB/s (10^9) of `bundle verify`, with sha256sum of the same file as
// the peer shown for scale.
func verifyGoal(m map[string]*Metric) Goal {
	bytes := median(m["verify.bytes"], func(x *Metric) *Stat { return x.Value })
	ours := bytes / median(m["verify.ours"], func(x *Metric) *Stat { return x.Wall }) / 1e9
	peer := bytes / median(m["verify.sha256sum"], func(x *Metric) *Stat { return x.Wall }) / 1e9
	g := absGoal("verify throughput ("+fmtBytes(bytes)+" .run)", ours, func(v float64) string { return fmt.Sprintf("%.2f GB/s", v) }, 1, false)
	g.Peer = "sha256sum of the same file"
	if !math.IsNaN(peer) && !math.IsNaN(ours) {
		g.Peer += fmt.Sprintf(": %.2f GB/s (ours %.2fx)", peer, ours/peer)
	}
	return g
}

// memoryGoal is the largest median peak RSS over names, named after the command that reached it.
// A command's own RSS is used when it was measured (the upgrade runs Harbor's install.sh and
// docker-compose as children, which are not ours and which every upgrade path runs).
func memoryGoal(what string, m map[string]*Metric, names []string) Goal {
	worst, worstName := math.NaN(), ""
	for _, n := range names {
		v := median(m[n], ownRSS)
		if !math.IsNaN(v) && (math.IsNaN(worst) || v > worst) {
			worst, worstName = v, n
		}
	}
	g := absGoal(what, worst/1024, func(v float64) string { return fmt.Sprintf("%.1f MiB", v) }, 64, true)
	if worstName != "" {
		g.Peer = "largest: " + worstName
	}
	return g
}

// diskGoal: extra disk of the upgrade beyond the installer files, against the makeself path's.
func diskGoal(ours, installerFiles, makeself float64) Goal {
	extra := (ours - installerFiles) / (1 << 20)
	g := absGoal("extra disk on the host beyond the installer files", extra, func(v float64) string { return fmt.Sprintf("%.1f MiB", v) }, 64, true)
	g.Peer = "makeself .run then the manual steps"
	if !math.IsNaN(makeself) {
		g.Peer += ": " + fmtBytes(makeself)
	}
	return g
}

func ownRSS(x *Metric) *Stat {
	if x.SelfRSS != nil {
		return x.SelfRSS
	}
	return x.PeakRSS
}

func joinNames(ns []string) string {
	s := ""
	for i, n := range ns {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

func fmtBytes(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case math.Abs(v) >= 1<<30:
		return fmt.Sprintf("%.2f GiB", v/(1<<30))
	case math.Abs(v) >= 1<<20:
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	case math.Abs(v) >= 1<<10:
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0f B", v)
}

func fmtSeconds(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f s", v)
}
