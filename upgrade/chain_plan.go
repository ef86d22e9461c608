package upgrade

import (
	"fmt"
	"strings"
	"time"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/progress"
)

// harborStartsText is why a chain starts Harbor at every hop instead of only at the end.
const harborStartsText = "Harbor starts at every hop: its core migrates the database schema, and harbor-db upgrades PostgreSQL, only when they start; a hop whose Harbor never ran would leave the next hop's release a database it cannot read."

// PlanHop is one hop of a chain as the plan explains it.
type PlanHop struct {
	Version string `json:"version"`
	From    string `json:"from"` // the version it is entered from
	// Config is what happens to harbor.yml ("1.10.0 -> 2.4.0 with goharbor/prepare:v2.4.3
	// migrate", or "kept at _version 2.15.0").
	Config       string        `json:"config"`
	Postgres     string        `json:"postgres"`
	Components   []string      `json:"components"`
	InstallFlags []string      `json:"install_flags"`
	Compose      ComposeTool   `json:"compose"`
	Drops        []harbor.Drop `json:"drops,omitempty"`
	ImagesToLoad int           `json:"images_to_load"`
	ImageBytes   int64         `json:"image_bytes"` // uncompressed size of those
	HealthPath   string        `json:"health_path"`
	Estimate     time.Duration `json:"estimate_ns"`
	EstimateSecs int           `json:"estimate_seconds"`
	Steps        []PlanStep    `json:"steps"`
	Counts       *DataCounts   `json:"counts,omitempty"` // what health must find again
}

func stepWidth(steps []PlanStep) int {
	w := 8
	for _, s := range steps {
		w = max(w, len(s.Name))
	}
	return w
}

// writeHops adds a chain's hops to the plan text.
func writeHops(b *strings.Builder, p *Plan) {
	if len(p.Hops) == 0 {
		return
	}
	fmt.Fprintf(b, "\nHops (%d, about %s in all):\n", len(p.Hops), (time.Duration(p.EstimateSeconds) * time.Second).String())
	for i, h := range p.Hops {
		fmt.Fprintf(b, "  %d. %s (from %s, about %s)\n", i+1, h.Version, h.From, (time.Duration(h.EstimateSecs) * time.Second).String())
		fmt.Fprintf(b, "       harbor.yml  %s\n", h.Config)
		fmt.Fprintf(b, "       database    %s\n", orText(h.Postgres, "not known"))
		fmt.Fprintf(b, "       install     %s (%s)\n", strings.TrimSpace("./install.sh "+strings.Join(h.InstallFlags, " ")), h.Compose.Name())
		fmt.Fprintf(b, "       images      %d to load (%s uncompressed)\n", h.ImagesToLoad, progress.HumanBytes(h.ImageBytes))
		fmt.Fprintf(b, "       health      %s reporting %s, then the projects and repositories again\n", h.HealthPath, h.Version)
		for _, d := range h.Drops {
			fmt.Fprintf(b, "       drops       %s: %s\n", d.Component, d.Lost)
		}
	}
	fmt.Fprintf(b, "  %s\n", harborStartsText)
}

// chainPlanSteps are a chain's steps as the plan explains them: the one stop and backup, then
// each hop's own steps under its name.
func chainPlanSteps(p *Plan, first []PlanStep) []PlanStep {
	steps := append([]PlanStep(nil), first[:2]...) // stop, backup
	for i, h := range p.Hops {
		for _, s := range h.Steps {
			s.Name = hopStepName(h.Version, s.Name)
			steps = append(steps, s)
		}
		if i < len(p.Hops)-1 {
			steps = append(steps, PlanStep{Name: hopStepName(h.Version, StepHopStop),
				Does: fmt.Sprintf("%s down in %s; keep the install dir in the backup as hops/%s for the next hop's migration", h.Compose.Name(), p.Install.Dir, h.Version)})
		}
	}
	return steps
}
