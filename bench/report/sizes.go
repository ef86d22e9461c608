package report

import (
	"fmt"
	"math"
	"strings"
)

// sizeFigures are every size the bench measures, each reported against both references: the
// limit anchor (what the best general-purpose compressor makes of the same bytes) and the
// offline installer .tgz (what users carry today).
var sizeFigures = []string{
	"size.payload.default", "size.payload.max", "size.run.default", "size.run.max", "size.run.keep",
	"size.anchor.zstd", "size.anchor.xz", "size.anchor.zstd3", "size.offline", "size.floor",
}

// SizeRatio is one size figure against both references; NaN where one was not measured.
type SizeRatio struct {
	Name      string
	Bytes     float64
	VsAnchor  float64
	VsOffline float64
}

// SizeRatios lists every measured size figure of one report against the anchor and the .tgz.
func SizeRatios(m map[string]*Metric) []SizeRatio {
	anchor, offline := median(m["size.anchor.zstd"], valueOf), median(m["size.offline"], valueOf)
	var out []SizeRatio
	for _, n := range sizeFigures {
		v := median(m[n], valueOf)
		if math.IsNaN(v) {
			continue
		}
		out = append(out, SizeRatio{Name: n, Bytes: v, VsAnchor: v / anchor, VsOffline: v / offline})
	}
	return out
}

// SizeTable is the Markdown table of SizeRatios.
func SizeTable(m map[string]*Metric) string {
	var b strings.Builder
	b.WriteString("| size | bytes | x limit anchor (zstd -19 --long=27) | x offline installer .tgz |\n|---|---|---|---|\n")
	for _, r := range SizeRatios(m) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", Label(r.Name), fmtBytes(r.Bytes), fmtRatio(r.VsAnchor), fmtRatio(r.VsOffline))
	}
	return b.String()
}

func fmtRatio(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.3fx", v)
}

// Disagreements names every goal met on one mix and missed on another at the same release size,
// "<goal> (<peer>) at <size>: met on <mixes>, missed on <mixes>", in the reports' order.
func Disagreements(reps []*Report) []string {
	var out []string
	bySize := map[string][]*Report{}
	var sizes []string
	for _, r := range reps {
		if bySize[r.Size] == nil {
			sizes = append(sizes, r.Size)
		}
		bySize[r.Size] = append(bySize[r.Size], r)
	}
	for _, size := range sizes {
		group := bySize[size]
		for i, g := range group[0].Goals {
			var met, missed []string
			for _, r := range group {
				if i >= len(r.Goals) {
					continue
				}
				switch r.Goals[i].Result() {
				case "met":
					met = append(met, r.MixName())
				case "missed":
					missed = append(missed, r.MixName())
				}
			}
			if len(met) > 0 && len(missed) > 0 {
				out = append(out, fmt.Sprintf("%s (%s) at %s: met on %s, missed on %s",
					g.What, strings.SplitN(g.Peer, ":", 2)[0], size, strings.Join(met, ", "), strings.Join(missed, ", ")))
			}
		}
	}
	return out
}
