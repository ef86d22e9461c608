package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Machine describes where a run happened; the figures mean nothing without it.
type Machine struct {
	CPU      string `json:"cpu"`
	NProc    int    `json:"nproc"`
	MemBytes int64  `json:"mem_bytes"`
	Kernel   string `json:"kernel"`
	Docker   string `json:"docker"`
	Disk     string `json:"disk"`
	Go       string `json:"go"`
}

// Report is one release size of one `make bench` run: what bench/results/<date>-<size>.json holds.
type Report struct {
	Date string `json:"date"` // UTC, RFC 3339
	Size string `json:"size"`
	// Mix is the content of the fake's images: MixSynthetic or MixDebian ("" in results made
	// before the mixes: synthetic).
	Mix string `json:"mix,omitempty"`
	// Packages are the Debian packages (name=version) the debian mix was made of.
	Packages []string `json:"packages,omitempty"`
	// SizeBytes is the generated image content of the fake release (uncompressed).
	SizeBytes int64              `json:"size_bytes"`
	Command   string             `json:"command"`
	Runs      int                `json:"runs"`
	Bundle    string             `json:"bundle"` // `bundle --version` of the binary measured
	Machine   Machine            `json:"machine"`
	Metrics   map[string]*Metric `json:"metrics"`
	Goals     []Goal             `json:"goals"`
	Raw       string             `json:"raw"` // the raw measurements file, next to this one
}

// Build makes the report of one size and mix from its metrics.
func Build(date, size, mix string, sizeBytes int64, command string, runs int, mach Machine, metrics map[string]*Metric, raw string) *Report {
	return &Report{Date: date, Size: size, Mix: mix, SizeBytes: sizeBytes, Command: command, Runs: runs, Machine: mach, Metrics: metrics, Goals: Goals(metrics, mix), Raw: raw}
}

// MixName is the report's mix, synthetic when it names none.
func (r *Report) MixName() string {
	if r.Mix == "" {
		return MixSynthetic
	}
	return r.Mix
}

// WriteJSON writes the report, indented.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding report: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadReport reads what WriteJSON wrote.
func ReadReport(r io.Reader) (*Report, error) {
	var rep Report
	if err := json.NewDecoder(r).Decode(&rep); err != nil {
		return nil, fmt.Errorf("reading report: %w", err)
	}
	return &rep, nil
}

// labels say in words what each measurement is; names not listed print as they are.
var labels = map[string]string{
	"size.run.default":       "bundle .run, default compression (zstd)",
	"size.run.max":           "bundle .run, --level max",
	"size.run.keep":          "bundle .run, --compression keep",
	"size.offline":           "offline installer .tgz (docker save + gzip)",
	"size.makeself":          "makeself .run of the offline installer",
	"size.floor":             "uncompressed docker-archive of the images (floor)",
	"size.anchor.zstd":       "limit anchor: zstd -19 --long=27 of the uncompressed docker-archive",
	"size.anchor.xz":         "xz -9 -T1 of the uncompressed docker-archive",
	"size.anchor.zstd3":      "same-level anchor: zstd -3 --long=27 of the uncompressed docker-archive",
	"size.payload.default":   "payload of the bundle (the .run without the binary), default",
	"size.payload.max":       "payload of the bundle, --level max",
	"anchor.zstd":            "zstd -19 --long=27 of the uncompressed docker-archive",
	"anchor.xz":              "xz -9 -T1 of the uncompressed docker-archive",
	"anchor.zstd3":           "zstd -3 --long=27 of the uncompressed docker-archive",
	"size.installer_files":   "installer files in the bundle",
	"build.keep.cold":        "bundle build --compression keep, empty cache",
	"build.default.cold":     "bundle build (zstd), empty cache",
	"build.default.warm":     "bundle build (zstd), warm cache",
	"build.max.cold":         "bundle build --level max, empty cache",
	"build.crane":            "crane pull --format oci, all images",
	"build.skopeo":           "skopeo copy to oci:, each image",
	"blobs.cold":             "blobs fetched, cold build",
	"blobs.warm":             "blobs fetched, warm rebuild",
	"load.ours":              "images loaded: the load step's stream into docker load (benchtool load)",
	"load.floor":             "images loaded: docker load -i uncompressed archive (floor)",
	"load.pipe":              "images loaded: cat uncompressed archive | docker load (pipe floor)",
	"load.manual":            "images loaded: tar xzf installer + docker load -i",
	"upgrade.ours":           "whole upgrade 1.9.4 -> 1.10.0: ./harbor-upgrade-1.10.run --yes",
	"upgrade.ours.step.load": "load step inside the upgrade (its summary)",
	"upgrade.manual":         "whole upgrade: the manual guide scripted, until healthy",
	"upgrade.makeself":       "whole upgrade: makeself .run, then the manual guide, until healthy",
	"verify.bytes":           "size of the .run verified",
	"verify.ours":            "bundle verify",
	"verify.sha256sum":       "sha256sum of the same file",
	"check.ours":             "./x.run check",
	"extract.ours":           "./x.run extract DIR",
	"verify.bundle.ours":     "bundle verify of the release bundle",
	"verify.bundle.bytes":    "size of the release bundle",
	"verify.bundle.sha256":   "sha256sum of the release bundle",
}

// Label is the words for a measurement name, safe inside a Markdown table cell.
func Label(name string) string {
	l := labels[name]
	if l == "" {
		l = name
	}
	return strings.ReplaceAll(l, "|", "\\|")
}

// WriteMarkdown writes the report as bench/results/<date>-<size>.md.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# make bench: %s release, %s mix, %s\n\n", r.Size, r.MixName(), r.Date)
	b.WriteString(mixLine(r) + "\n\n")
	fmt.Fprintf(&b, "Command: `%s` (%d runs of each figure, whole upgrades as the table says; median, min-max). Binary: %s.\n\n", r.Command, r.Runs, r.Bundle)
	b.WriteString(MachineLine(r.Machine) + "\n\n")
	b.WriteString("## Goals (DESIGN.md \"Numbers we hold ourselves to\")\n\n")
	b.WriteString(GoalTable(r.Goals))
	b.WriteString("\n## Every size against the limit anchor and the offline installer\n\n")
	b.WriteString(SizeTable(r.Metrics))
	b.WriteString("\n## Every measurement\n\n")
	b.WriteString("| measurement | time | peak RSS (with children) | peak RSS (own process) | extra disk | value |\n|---|---|---|---|---|---|\n")
	names := make([]string, 0, len(r.Metrics))
	for n := range r.Metrics {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		m := r.Metrics[n]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", Label(n),
			statText(m.Wall, fmtSeconds), statText(m.PeakRSS, kib), statText(m.SelfRSS, kib),
			statText(m.Disk, fmtBytes), valueText(m))
	}
	fmt.Fprintf(&b, "\nRaw measurements: `%s`.\n", r.Raw)
	_, err := io.WriteString(w, b.String())
	return err
}

// mixLine says what the images held.
func mixLine(r *Report) string {
	if r.MixName() == MixDebian {
		return "Content: files of real Debian packages (fakeharbor --content debian): " + strings.Join(r.Packages, ", ") + "."
	}
	return "Content: the synthetic mix (fakeharbor --content synthetic: generated text, logs, machine-code-like, already compressed and sparse files)."
}

// MachineLine is the one-line machine description printed under every table.
func MachineLine(m Machine) string {
	return fmt.Sprintf("Machine: %s, %d CPUs, %s RAM, Linux %s, Docker %s, disk %s, %s.",
		m.CPU, m.NProc, fmtBytes(float64(m.MemBytes)), m.Kernel, m.Docker, m.Disk, m.Go)
}

// GoalTable is the Markdown table of goals of one size.
func GoalTable(gs []Goal) string {
	var b strings.Builder
	b.WriteString("| figure | ours | peer | measured | goal | result |\n|---|---|---|---|---|---|\n")
	for _, g := range gs {
		peer := g.Peer
		if g.Other != "" {
			peer = fmt.Sprintf("%s: %s", g.Peer, g.Other)
		}
		result := "**" + g.Result() + "**"
		if g.Note != "" {
			result += " (" + g.Note + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", g.What, g.Ours, peer, g.MeasuredRatio(), g.Goal, result)
	}
	return b.String()
}

func statText(s *Stat, format func(float64) string) string {
	if s == nil {
		return ""
	}
	if s.N == 1 || s.Min == s.Max {
		return format(s.Median)
	}
	return fmt.Sprintf("%s (%s-%s)", format(s.Median), format(s.Min), format(s.Max))
}

func valueText(m *Metric) string {
	format := func(v float64) string { return fmt.Sprintf("%g %s", v, m.Unit) }
	switch m.Unit {
	case "bytes":
		format = fmtBytes
	case "s":
		format = fmtSeconds
	}
	t := statText(m.Value, format)
	if m.Failed > 0 {
		t = strings.TrimSpace(t + fmt.Sprintf(" (%d failed runs left out)", m.Failed))
	}
	return t
}
