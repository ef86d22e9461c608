package upgrade

import (
	"encoding/json"
	"fmt"
	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/progress"
	"io"
	"strings"
	"time"
)

// Plan is what an upgrade will do, shown before anything changes (and all a --dry-run does).
type Plan struct {
	From    string    `json:"from"`
	To      string    `json:"to"`
	Bundle  BundleRef `json:"bundle"`
	Install *Install  `json:"install"`
	// BackupDir is the parent of the backup; the upgrade's own directory is created under it.
	BackupDir    string        `json:"backup_dir"`
	BackupBytes  int64         `json:"backup_bytes"` // space the backup needs, margin included
	BackupFree   int64         `json:"backup_free"`
	ImagesToLoad []string      `json:"images_to_load"`
	ImagesLoaded []string      `json:"images_present"` // already on the host with the right ID
	ImageBytes   int64         `json:"image_bytes"`    // uncompressed size of ImagesToLoad
	InstallFlags []string      `json:"install_flags"`
	Steps        []PlanStep    `json:"steps"`
	Checks       []Check       `json:"checks"`
	Notes        []string      `json:"notes"`
	HealthWait   time.Duration `json:"health_timeout_ns"`
	Rollback     bool          `json:"automatic_rollback"`
	Resume       *ResumePoint  `json:"resume,omitempty"`
	// ConfigVersion is the harbor.yml `_version` the new release reads (from the bundle).
	ConfigVersion string `json:"config_version,omitempty"`
	// InstallFiles are the files harbor.yml names inside the install dir, carried into the new one.
	InstallFiles []InstallFile `json:"install_files,omitempty"`
	// Postgres says what the new harbor-db does with the data found ("PostgreSQL 13 -> 14
	// (pg_upgrade at first start; ...)").
	Postgres string `json:"postgres,omitempty"`
	// Drops are the components in use the target no longer has, and what each loses.
	Drops []harbor.Drop `json:"drops,omitempty"`
	// Counts are the projects and repositories of the old Harbor, to be found again in the new
	// one; nil with CountsUnknown saying why they could not be read.
	Counts        *DataCounts `json:"counts,omitempty"`
	CountsUnknown string      `json:"counts_unknown,omitempty"`
	// ComposeOld stops the old install; ComposeNew is what the new install.sh will use.
	ComposeOld ComposeTool `json:"compose_old"`
	ComposeNew ComposeTool `json:"compose_new"`
	// APIBase is where the new core serves systeminfo (catalog api_base).
	APIBase string `json:"api_base,omitempty"`
	// Hops is the chain a multi-hop bundle runs on this host (chain_plan.go); empty for one hop.
	Hops []PlanHop `json:"hops,omitempty"`
	// HarborStarts says why Harbor starts at every hop of a chain.
	HarborStarts string `json:"harbor_starts_every_hop,omitempty"`
	// EstimateSeconds is the sum of the hops' estimates (a chain only).
	EstimateSeconds int `json:"estimate_seconds,omitempty"`
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// PlanStep is one step as the plan explains it.
type PlanStep struct {
	Name    string `json:"name"`
	Does    string `json:"does"`
	Skipped bool   `json:"skipped,omitempty"` // already done (resume)
}

// ResumePoint describes an interrupted upgrade being resumed.
type ResumePoint struct {
	ID       string `json:"id"`
	LastStep string `json:"last_step"`
	Status   string `json:"status"`
}

// Check is one preflight check.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	// Warn marks a passed check the administrator should read anyway.
	Warn bool `json:"warn,omitempty"`
}

// Failed lists the failed checks.
func (p *Plan) Failed() []Check {
	var out []Check
	for _, c := range p.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// WriteJSON writes the plan as JSON.
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// WriteText writes the plan for a person to read before confirming.
func (p *Plan) WriteText(w io.Writer) error {
	var b strings.Builder
	in := p.Install
	fmt.Fprintf(&b, "Upgrade Harbor %s -> %s\n", p.From, p.To)
	state := "not running"
	if in.Running {
		state = "running"
	}
	fmt.Fprintf(&b, "  install dir   %s (found from %s; Harbor %s)\n", in.Dir, in.DirFrom, state)
	fmt.Fprintf(&b, "  data volume   %s\n", in.DataVolume)
	fmt.Fprintf(&b, "  components    %s\n", componentsText(in.Components, p.InstallFlags))
	if p.Postgres != "" {
		fmt.Fprintf(&b, "  database      %s\n", p.Postgres)
	}
	if p.Counts != nil {
		fmt.Fprintf(&b, "  data          %s (the new Harbor must show at least as many, else it rolls back)\n", p.Counts)
	} else if p.CountsUnknown != "" {
		fmt.Fprintf(&b, "  data          projects and repositories unknown: %s\n", p.CountsUnknown)
	}
	for _, d := range p.Drops {
		fmt.Fprintf(&b, "  drops         %s: %s\n", d.Component, d.Lost)
	}
	fmt.Fprintf(&b, "  backup        under %s: needs %s, %s free\n", p.BackupDir, progress.HumanBytes(p.BackupBytes), progress.HumanBytes(p.BackupFree))
	fmt.Fprintf(&b, "  images        %d to load (%s uncompressed), %d already present\n", len(p.ImagesToLoad), progress.HumanBytes(p.ImageBytes), len(p.ImagesLoaded))
	fmt.Fprintf(&b, "  bundle        %s (manifest sha256 %s)\n", p.Bundle.Path, short(p.Bundle.ManifestSHA256))
	if p.Resume != nil {
		fmt.Fprintf(&b, "  resuming      %s, stopped at step %s (%s)\n", p.Resume.ID, p.Resume.LastStep, p.Resume.Status)
	}
	writeHops(&b, p)
	b.WriteString("\nSteps:\n")
	for i, s := range p.Steps {
		mark := ""
		if s.Skipped {
			mark = " (done already)"
		}
		fmt.Fprintf(&b, "  %d. %-*s %s%s\n", i+1, stepWidth(p.Steps), s.Name, s.Does, mark)
	}
	if p.Rollback {
		fmt.Fprintf(&b, "  On any failure from step 1 on: automatic rollback to %s from the backup.\n", p.From)
	} else {
		b.WriteString("  On failure: NO automatic rollback (--no-rollback); run `rollback` yourself.\n")
	}
	b.WriteString("\nChecks:\n")
	width := 0
	for _, c := range p.Checks {
		width = max(width, len(c.Name))
	}
	for _, c := range p.Checks {
		mark := "ok  "
		switch {
		case !c.OK:
			mark = "FAIL"
		case c.Warn:
			mark = "warn"
		}
		fmt.Fprintf(&b, "  %s  %-*s %s\n", mark, width, c.Name, c.Detail)
	}
	if len(p.Notes) > 0 {
		b.WriteString("\nNotes:\n")
		for _, n := range p.Notes {
			fmt.Fprintf(&b, "  - %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func componentsText(comps, flags []string) string {
	if len(comps) == 0 {
		return "core only (install.sh without --with-* flags)"
	}
	return fmt.Sprintf("%s (install.sh %s)", strings.Join(comps, ", "), strings.Join(flags, " "))
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

// migrateText explains the migrate step: whether a migrator runs at all (a patch upgrade keeps
// the `_version`), and which files come across from the old install dir.
func migrateText(p *Plan, migrator string) string {
	in := p.Install
	var b strings.Builder
	fmt.Fprintf(&b, "lay out the %s installer in %s; ", p.To, in.Dir)
	if p.ConfigVersion != "" && in.ConfigVersion == p.ConfigVersion {
		fmt.Fprintf(&b, "harbor.yml: already at _version %s, no migration needed", p.ConfigVersion)
	} else {
		target := p.ConfigVersion
		if target == "" {
			target = "the " + p.To + " format"
		}
		fmt.Fprintf(&b, "migrate harbor.yml %s -> %s with %s (--network none)", in.ConfigVersion, target, migrator)
	}
	if len(p.InstallFiles) > 0 {
		fmt.Fprintf(&b, "; carry from the backup: %s", describeFiles(p.InstallFiles))
	}
	return b.String()
}

// planSteps explains each changing step with the paths it touches.
func planSteps(p *Plan, migrator string) []PlanStep {
	in := p.Install
	flags := strings.Join(p.InstallFlags, " ")
	return []PlanStep{
		{Name: StepStop, Does: fmt.Sprintf("%s down in %s (data kept: never -v)", p.ComposeOld.Name(), in.Dir)},
		{Name: StepBackup, Does: fmt.Sprintf("move %s into the backup; copy %s/database and %s/secret (owners, modes, times, xattrs kept; checksummed)", in.Dir, in.DataVolume, in.DataVolume)},
		{Name: StepLoad, Does: fmt.Sprintf("docker load %d images from this bundle, check every image ID", len(p.ImagesToLoad))},
		{Name: StepMigrate, Does: migrateText(p, migrator)},
		{Name: StepInstall, Does: strings.TrimSpace("./install.sh "+flags) + " (it runs " + p.ComposeNew.Name() + ")"},
		{Name: StepHealth, Does: fmt.Sprintf("wait up to %s for every container healthy and %s reporting %s; then %s",
			p.HealthWait, orText(p.APIBase, "/api[/v2.0]")+"/systeminfo", p.To, countsStepText(p.Counts))},
	}
}

// countsStepText is the data check after health, as the plan explains it.
func countsStepText(c *DataCounts) string {
	if c == nil {
		return "log its projects and repositories (nothing to compare with: not read before)"
	}
	return fmt.Sprintf("it must have at least %s, or it rolls back", c)
}
