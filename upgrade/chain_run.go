package upgrade

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/harborbundle/bundle/internal/atomicfile"
)

// A chain (a multi-hop bundle) runs as:
//
//	stop -> backup -> [per hop: load -> migrate -> install -> health -> stop-hop] -> done
//
// stop and backup run once, before the first hop: the one backup is of the starting state,
// and a rollback from anywhere in the chain returns there. Each hop's steps are the one-hop
// steps, run on the hop's view of the bundle (chain_source.go), journaled as "<version>/<step>"
// ("v2.4.3/install"), so that a resume after kill -9 continues at the hop and step it was in.
// stop-hop (every hop but the last) stops the hop's Harbor, which was healthy and had its
// counts checked, with its own compose tool, and moves its install dir to <backup>/hops/<version>:
// the next hop's migrate reads its harbor.yml there, as the first hop reads the original's
// from <backup>/harbor. Harbor starts at every hop because only a running Harbor migrates: core
// migrates the database schema, and harbor-db upgrades PostgreSQL, when they start.

// StepHopStop ends every hop of a chain but the last.
const StepHopStop = "stop-hop"

// ChainRecord is the journal's record of a chain: its hops in order and the one in progress.
type ChainRecord struct {
	Hops []HopRecord `json:"hops"`
	// Current is the index of the hop whose steps run now (or ran last).
	Current int `json:"current"`
	// KeepProgress: on a failure after a hop finished, stop at the last healthy hop instead
	// of rolling back to the start (see chain_keep.go).
	KeepProgress bool `json:"keep_progress,omitempty"`
	// Checkpoint is the hop whose data (database, secret) was copied when it stopped cleanly,
	// the point --keep-progress returns to; "" before the first.
	Checkpoint string `json:"checkpoint,omitempty"`
	// KeptAt is the hop the host was left on by --keep-progress (state kept-progress).
	KeptAt string `json:"kept_at,omitempty"`
}

// HopRecord is what a hop's steps need that the one-hop journal holds once: the journal's
// Components, InstallFlags, ComposeNew and APIBase are set from it when the hop starts.
type HopRecord struct {
	Version      string      `json:"version"`
	Components   []string    `json:"components"`
	InstallFlags []string    `json:"install_flags"`
	Compose      ComposeTool `json:"compose"`
	APIBase      string      `json:"api_base,omitempty"`
}

// hopStepName is the journal name of a hop's step: "v2.4.3/install".
func hopStepName(version, step string) string { return version + "/" + step }

// splitStepName reads a journal step name: ("v2.4.3", "install"), or ("", "install").
func splitStepName(name string) (hop, step string) {
	if h, s, ok := strings.Cut(name, "/"); ok {
		return h, s
	}
	return "", name
}

// chainSteps are the changing steps of a chain, in order.
func chainSteps(c *ChainRecord) []string {
	steps := []string{StepStop, StepBackup}
	for i, h := range c.Hops {
		for _, s := range []string{StepLoad, StepMigrate, StepInstall, StepHealth} {
			steps = append(steps, hopStepName(h.Version, s))
		}
		if i < len(c.Hops)-1 {
			steps = append(steps, hopStepName(h.Version, StepHopStop))
		}
	}
	return steps
}

// stepNames are the changing steps of this upgrade.
func (u *Upgrade) stepNames() []string {
	if c := u.journal.Chain; c != nil {
		return chainSteps(c)
	}
	return changingSteps
}

// hopDir is where a finished hop's install dir is kept.
func hopDir(j *Journal, version string) string { return filepath.Join(j.Dir(), "hops", version) }

// previousInstallDir is the install dir the migrate step reads harbor.yml (and the files it
// names) from: the original's in the backup, or the hop before's.
func (u *Upgrade) previousInstallDir() string {
	j := u.journal
	if j.Chain == nil || j.Chain.Current == 0 {
		return filepath.Join(j.Dir(), "harbor")
	}
	return hopDir(j, j.Chain.Hops[j.Chain.Current-1].Version)
}

// installVersion is the release the install being made runs: the target, or the current hop.
func (u *Upgrade) installVersion() string { return u.manifest.Release }

// enterStep makes the step's hop current before it runs (the journal saved, so that a rollback
// from here stops what runs with this hop's compose tool).
func (u *Upgrade) enterStep(name string) error {
	j := u.journal
	hop, _ := splitStepName(name)
	if j.Chain == nil || hop == "" {
		return nil
	}
	i := slices.IndexFunc(j.Chain.Hops, func(h HopRecord) bool { return h.Version == hop })
	if i < 0 {
		return fmt.Errorf("journal: step %s of a hop the chain does not have", name)
	}
	if u.hopReady && u.hopIndex == i {
		return nil
	}
	return u.enterHop(i)
}

// enterHop switches the upgrade to hop i of the chain: the bundle seen as that hop's one-hop
// bundle, and (with a journal) the journal's per-install fields set from the hop's record.
func (u *Upgrade) enterHop(i int) error {
	h := u.hops[i]
	u.hopIndex, u.hopReady = i, false
	u.manifest = hopView(u.full, h)
	u.o.Bundle = hopSource{Source: u.src, view: u.manifest, prefix: h.Installer}
	u.target, u.targetConfig = nil, ""
	if err := u.loadTargetConfig(); err != nil {
		return err
	}
	j := u.journal
	if j == nil || j.Chain == nil {
		return nil
	}
	rec := j.Chain.Hops[i]
	u.components = rec.Components
	u.needed = neededImages(u.manifest, rec.Components)
	j.Chain.Current = i
	j.Components, j.InstallFlags, j.ComposeNew, j.APIBase = rec.Components, rec.InstallFlags, rec.Compose, rec.APIBase
	fmt.Fprintf(u.log, "hop %d/%d: Harbor %s (%s)\n", i+1, len(j.Chain.Hops), h.Version, strings.Join(rec.InstallFlags, " "))
	fmt.Fprintf(u.o.Out, "--> hop %d/%d: Harbor %s\n", i+1, len(j.Chain.Hops), h.Version)
	if err := j.Save(); err != nil {
		return err
	}
	u.hopReady = true
	return nil
}

// hopStop stops a finished hop's Harbor with the tool its install.sh used and keeps its
// install dir at <backup>/hops/<version>, where the next hop's migrate reads it. Safe to run
// again: a stopped Harbor stops again, a moved dir is found moved.
func (u *Upgrade) hopStop(ctx context.Context) error {
	j := u.journal
	dst := hopDir(j, u.installVersion())
	if _, err := os.Lstat(j.InstallDir); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Lstat(dst); err == nil {
			return nil // moved before a crash
		}
		return fmt.Errorf("neither %s nor %s exists: the %s install is gone", j.InstallDir, dst, u.installVersion())
	}
	if _, err := os.Stat(filepath.Join(j.InstallDir, "docker-compose.yml")); err == nil {
		if err := u.o.Engine.Compose(ctx, j.ComposeNew, j.InstallDir, "down"); err != nil {
			return fmt.Errorf("stopping Harbor %s with %s: %w", u.installVersion(), j.ComposeNew.Name(), err)
		}
	}
	if err := ensureStopped(ctx, u.o.Engine, j.InstallDir); err != nil {
		return err
	}
	if j.Chain.KeepProgress {
		if err := u.checkpoint(ctx); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(dst); err != nil { // half a copy of a crashed cross-filesystem move: ours by name
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	if err := moveDir(j.InstallDir, dst); err != nil {
		return fmt.Errorf("keeping the %s install dir as %s: %w", u.installVersion(), dst, err)
	}
	fmt.Fprintf(u.log, "Harbor %s stopped; its install dir is kept as %s\n", u.installVersion(), dst)
	return atomicfile.SyncDir(filepath.Dir(j.InstallDir))
}

// resumeChain readies a resumed chain: the bundle seen as the hop the journal was in (the
// journal's fields are set from its record when its next step runs).
func (u *Upgrade) resumeChain(j *Journal) error {
	u.full, u.src = u.manifest, u.o.Bundle
	for _, rec := range j.Chain.Hops {
		h, ok := u.full.Hop(rec.Version)
		if !ok {
			return &BundleError{fmt.Errorf("the journal's hop %s is not in this bundle", rec.Version)}
		}
		u.hops = append(u.hops, h)
	}
	return u.enterHop(j.Chain.Current) // no journal yet: nothing saved
}

// chainResumeSteps lists a resumed chain's steps for the plan.
func chainResumeSteps(j *Journal) []PlanStep {
	var out []PlanStep
	for _, name := range chainSteps(j.Chain) {
		hop, step := splitStepName(name)
		does := step
		if hop != "" {
			does = step + " of hop " + hop
		}
		out = append(out, PlanStep{Name: name, Does: does})
	}
	return out
}
