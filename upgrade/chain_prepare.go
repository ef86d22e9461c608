package upgrade

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/payload"
)

// prepareChain is prepareFresh for a multi-hop bundle: the installed version picks its chain
// from the manifest (a host part-way along starts at its own hop), and the WHOLE chain is
// checked before anything changes. The host's checks (root, docker, ports, the backup, the
// old images, the database, the lock) are the one-hop checks against the first hop; then the
// chain is walked hop by hop on what the hop before leaves: components, what each hop drops,
// the compose tool of each hop's install.sh, harbor.yml's migrations, PostgreSQL's steps, the
// images of every hop.
func (u *Upgrade) prepareChain(ctx context.Context, in *Install, lockErr error) error {
	u.full, u.src = u.manifest, u.o.Bundle
	final := u.target
	if err := pathErr(in.Version, &payload.Manifest{Release: u.full.Release, FromVersions: []string{in.Version}}, nil); err != nil {
		return err // already there (exit 0), or a downgrade
	}
	u.hops = u.full.ChainFrom(in.Version)
	if len(u.hops) == 0 {
		return &PreflightError{Failed: []Check{{Name: "upgrade path", Detail: u.noChainErr(in, final)}}}
	}
	if err := u.enterHop(0); err != nil {
		return err
	}
	f := gatherFacts(ctx, &u.o, in, u.manifest, u.target, u.targetConfig)
	f.lockErr = lockErr
	if u.o.KeepProgress {
		// Checkpoints: one at each stop-hop, the previous removed once the next is complete,
		// so two copies of the data trees at most besides the backup (chain_keep.go).
		var n int64
		for _, t := range []string{filepath.Join(in.DataVolume, "database"), filepath.Join(in.DataVolume, "secret")} {
			b, _ := treeBytes(t)
			n += b
		}
		f.backupNeed += withMargin(2 * n)
	}
	w := u.walkChain(ctx, in, f)
	if len(u.full.ScanDBs) > 0 {
		// A carried DB is installed as part of one release's install, with its own backup and
		// rollback (scandb_upgrade.go); in a chain every hop's view would carry it. The builder
		// refuses to make such a bundle; one made otherwise is refused here, before any change.
		w.hopErrs = append(w.hopErrs, fmt.Errorf("the bundle carries the %s for a chain of upgrades, which this version of bundle does not install: upgrade with a chain bundle built without --with-trivy-db, then run a DB-only bundle (bundle build --trivy-db-only)", scanDBKinds(u.full.ScanDBs)))
	}
	f.postgres, f.postgresErr = w.postgres, w.postgresErr
	f.drops, f.configErr = w.drops, errors.Join(w.configErrs...)
	f.imagesNeed = withMargin(w.bytes)
	if root, err := u.o.Engine.RootDir(ctx); err != nil {
		f.imagesErr = err
	} else {
		f.imagesFree, f.imagesErr = freeBytes(root)
	}
	checks := evaluate(f)
	for i, c := range checks {
		if c.Name == "image space" && c.OK {
			checks[i].Detail += " (every hop's images: each hop's stay loaded until the end, a resume or a re-run of a hop needs them)"
		}
	}
	hopsErr := errors.Join(w.hopErrs...)
	checks = append(checks, checkOf("hops", hopsErr, fmt.Sprintf("%d hops: %s; every hop's images are in the bundle, every hop's install.sh has its compose tool", len(u.hops), hopVersions(u.hops))))
	if failedAny(checks) {
		checks = append(checks, Check{Name: CheckMigrations, OK: true, Warn: true, Detail: "not rehearsed: the hops' migrators run on a copy of harbor.yml once the checks above pass"})
	} else {
		checks = append(checks, u.rehearseChain(ctx, in))
	}
	first := w.hops[0]
	u.components = first.Components
	u.needed = neededImages(u.manifest, u.components)
	u.records = w.records
	last := w.hops[len(w.hops)-1]
	u.plan = &Plan{
		From: in.Version, To: u.full.Release, Bundle: u.o.BundleRef, Install: in,
		BackupDir: u.o.BackupDir, BackupBytes: f.backupNeed, BackupFree: f.backupFree,
		ImagesToLoad: w.toLoad, ImagesLoaded: w.present, ImageBytes: w.bytes,
		InstallFlags: last.InstallFlags, Checks: checks, HealthWait: u.o.HealthTimeout,
		Rollback: !u.o.NoRollback, InstallFiles: f.installFiles,
		Postgres: w.postgres, Drops: w.drops, ComposeOld: f.composeOld, ComposeNew: first.Compose,
		Hops: w.hops, HarborStarts: harborStartsText,
	}
	if final != nil {
		u.plan.ConfigVersion, u.plan.APIBase = final.ConfigVersion, final.APIBase
	}
	for _, h := range w.hops {
		u.plan.EstimateSeconds += h.EstimateSecs
	}
	u.plan.Counts, u.plan.CountsUnknown = countsBefore(ctx, u.o.Engine, in)
	for i := range u.plan.Hops {
		u.plan.Hops[i].Counts = u.plan.Counts
		for j := range u.plan.Hops[i].Steps {
			if s := &u.plan.Hops[i].Steps[j]; s.Name == StepHealth {
				s.Does += "; then " + countsStepText(u.plan.Counts)
			}
		}
	}
	u.plan.Notes = notes(in, u.full.Release)
	if u.o.KeepProgress {
		u.plan.Notes = append(u.plan.Notes, "--keep-progress: on a failure after a hop finished, the host stops at the last healthy hop (its data copied when it stopped) instead of returning to "+in.Version+"; `rollback` still returns to "+in.Version+".")
	}
	u.plan.Steps = chainPlanSteps(u.plan, planSteps(u.plan, u.manifest.Migration.Image))
	if failed := u.plan.Failed(); len(failed) > 0 {
		return &PreflightError{Failed: failed}
	}
	return nil
}

func failedAny(checks []Check) bool {
	for _, c := range checks {
		if !c.OK {
			return true
		}
	}
	return false
}

func checkOf(name string, err error, ok string) Check {
	if err != nil {
		return Check{Name: name, Detail: err.Error()}
	}
	return Check{Name: name, OK: true, Detail: ok}
}

func hopVersions(hops []payload.Hop) string {
	var vs []string
	for _, h := range hops {
		vs = append(vs, h.Version)
	}
	return strings.Join(vs, " -> ")
}

// noChainErr refuses an installed version the bundle has no chain from, naming what it needs.
func (u *Upgrade) noChainErr(in *Install, final *harbor.Release) string {
	var froms []string
	for _, ch := range u.full.Chains {
		froms = append(froms, ch.From)
	}
	msg := fmt.Sprintf("this bundle has no chain from %s (it upgrades from %s, and hosts already on one of its hops %s)",
		in.Version, strings.Join(froms, ", "), hopVersions(u.full.Hops))
	if u.o.Catalog == nil || final == nil {
		return msg
	}
	ch, err := u.o.Catalog.ChainFrom(in.Version, final)
	if err != nil {
		return msg + ": " + err.Error()
	}
	var vs []string
	for _, r := range ch.Hops {
		vs = append(vs, r.Version)
	}
	return fmt.Sprintf("%s; the way from %s is %s: build one with `bundle build %s --from %s`", msg, in.Version, strings.Join(vs, " -> "), final.Version, strings.TrimPrefix(in.Version, "v"))
}

// chainWalk is what walking the chain found.
type chainWalk struct {
	hops        []PlanHop
	records     []HopRecord
	postgres    string
	postgresErr error
	drops       []harbor.Drop
	configErrs  []error
	hopErrs     []error
	toLoad      []string
	present     []string
	bytes       int64
}

// walkChain checks each hop on what the hop before leaves (the first on the host as it is).
func (u *Upgrade) walkChain(ctx context.Context, in *Install, f *facts) *chainWalk {
	w := &chainWalk{}
	cat := u.o.Catalog
	host := composeHost{plugin: f.plugin, pluginErr: f.pluginErr, standalone: f.compose, standaloneErr: f.composeErr}
	majors, pgErr := pgClusters(in.DataVolume)
	prevVersion, prevConfig, prevComps := in.Version, in.ConfigVersion, in.Components
	var pgLines []string
	seen := map[string]bool{}
	for i, h := range u.hops {
		view := hopView(u.full, h)
		rel, _ := cat.Get(h.Version)
		cfg := ""
		if rel != nil {
			cfg = rel.ConfigVersion
		}
		at := func(err error) error { return fmt.Errorf("hop %s: %w", h.Version, err) }
		ph := PlanHop{Version: h.Version, From: prevVersion, EstimateSecs: h.EstimateSeconds}
		var comps []string
		var tool ComposeTool
		var err error
		if i == 0 {
			comps = f.components
			if _, tool, err = composeTools(in, f.old, rel, host); err != nil {
				tool = ComposeTool{}
			}
			w.drops = append(w.drops, hopDrops(f.drops, h.Version)...)
			if f.configErr != nil {
				w.configErrs = append(w.configErrs, at(f.configErr))
			}
		} else {
			if comps, err = chooseComponents(&Install{Version: prevVersion, Components: prevComps}, view, rel, nil); err != nil {
				w.hopErrs = append(w.hopErrs, at(err))
			}
			need, from := composeNeed(rel)
			if tool, err = chooseCompose(need, from, host); err != nil {
				w.hopErrs = append(w.hopErrs, at(fmt.Errorf("%s needs %w", targetName(rel), err)))
			}
			d, err := droppedInUse(cat, &Install{Version: prevVersion, Components: prevComps}, rel)
			if err != nil {
				w.hopErrs = append(w.hopErrs, at(err))
			}
			w.drops = append(w.drops, hopDrops(d, h.Version)...)
			if err := nextMigrationErr(prevConfig, cfg, view); err != nil {
				w.configErrs = append(w.configErrs, at(err))
			}
		}
		ph.Config = configText(prevConfig, cfg, view)
		ph.Components, ph.InstallFlags, ph.Compose = comps, flagsFor(comps), tool
		ph.Drops = hopDrops(nil, h.Version)
		for _, d := range w.drops {
			if strings.HasSuffix(d.Lost, "(dropped at "+h.Version+")") {
				ph.Drops = append(ph.Drops, d)
			}
		}
		line, err := postgresStep(majors, pgErr, rel, cat)
		if err != nil && w.postgresErr == nil {
			w.postgresErr = at(err)
		}
		ph.Postgres = line
		pgLines = append(pgLines, h.Version+": "+orText(line, "refused"))
		if err == nil && rel != nil && rel.Postgres.Known() {
			majors = []string{rel.Postgres.Major}
		}
		// The https section is carried through every migration, so each hop's prepare sees the
		// administrator's; the first hop's --components choice is every later hop's too.
		if _, err := httpsCheck(in, rel, comps); err != nil {
			w.hopErrs = append(w.hopErrs, at(err))
		}
		if err := hopImagesErr(h, view, comps); err != nil {
			w.hopErrs = append(w.hopErrs, at(err))
		}
		needed := neededImages(view, comps)
		refs := make([]string, len(needed))
		for k, img := range needed {
			refs[k] = img.Ref
		}
		ids, idErr := u.o.Engine.ImageIDs(ctx, refs)
		for _, img := range needed {
			if id := ids[img.Ref]; idErr == nil && id == img.ConfigDigest {
				if !seen[img.Ref] {
					w.present = append(w.present, img.Ref)
				}
				seen[img.Ref] = true
				continue
			}
			ph.ImagesToLoad++
			ph.ImageBytes += img.UncompressedSize
			if !seen[img.Ref] {
				w.toLoad = append(w.toLoad, img.Ref)
				w.bytes += img.UncompressedSize
			}
			seen[img.Ref] = true
		}
		apiBase := ""
		if rel != nil {
			apiBase = rel.APIBase
		}
		ph.HealthPath = orText(apiBase, "/api[/v2.0]") + "/systeminfo"
		sub := &Plan{From: prevVersion, To: h.Version, Install: &Install{Dir: in.Dir, DataVolume: in.DataVolume, ConfigVersion: prevConfig},
			ImagesToLoad: make([]string, ph.ImagesToLoad), InstallFlags: ph.InstallFlags, HealthWait: u.o.HealthTimeout,
			ConfigVersion: cfg, InstallFiles: f.installFiles, ComposeNew: tool, APIBase: apiBase}
		hs := planSteps(sub, view.Migration.Image)[2:]
		hs[len(hs)-1].Does = fmt.Sprintf("wait up to %s for every container healthy and %s reporting %s", u.o.HealthTimeout, ph.HealthPath, h.Version)
		ph.Steps = hs
		w.hops = append(w.hops, ph)
		w.records = append(w.records, HopRecord{Version: h.Version, Components: comps, InstallFlags: flagsFor(comps), Compose: tool, APIBase: apiBase})
		prevVersion, prevConfig, prevComps = h.Version, cfg, comps
	}
	w.postgres = strings.Join(pgLines, "; ")
	return w
}

// hopDrops names the hop that drops each component.
func hopDrops(ds []harbor.Drop, version string) []harbor.Drop {
	var out []harbor.Drop
	for _, d := range ds {
		d.Lost += " (dropped at " + version + ")"
		out = append(out, d)
	}
	return out
}

// configText says what a hop does to harbor.yml.
func configText(from, to string, view *payload.Manifest) string {
	if to != "" && from == to {
		return "already at _version " + to + ", no migration"
	}
	return fmt.Sprintf("_version %s -> %s with %s (%s)", from, orText(to, "the "+view.Release+" format"), view.Migration.Image, view.Migration.Method)
}

// nextMigrationErr: the hop's migrator has a way from the `_version` the hop before writes.
// What the file holds then is the real migrator's output, which this does not model; the
// models (CheckForMigrator, CheckForPrepareMigrate) judge the step's starting point here,
// and the hop's first migration judged the administrator's file itself.
func nextMigrationErr(from, to string, view *payload.Manifest) error {
	if to == "" || from == to {
		return nil
	}
	c, err := harbor.ParseConfig([]byte("_version: " + from + "\nhostname: harbor.invalid\n"))
	if err != nil {
		return err
	}
	if view.Migration.Method == harbor.MethodPrepare {
		err = c.CheckForPrepareMigrate(view.Release)
	} else {
		err = c.CheckForMigrator(to)
	}
	var mi *harbor.MigrationInputError
	if errors.As(err, &mi) && mi.Reason != "" {
		return fmt.Errorf("harbor.yml at _version %s cannot be migrated to %s: %s", from, to, mi.Reason)
	}
	return nil
}

// hopImagesErr: every image the hop names is in the bundle, and each component it installs
// has its images there.
func hopImagesErr(h payload.Hop, view *payload.Manifest, comps []string) error {
	if len(view.Images) != len(h.Images) {
		return fmt.Errorf("the bundle lacks some of the hop's %d images", len(h.Images))
	}
	for _, c := range append([]string{harbor.Core}, comps...) {
		found := false
		for _, img := range view.Images {
			found = found || img.Component == c
		}
		if !found {
			return fmt.Errorf("the bundle has no %s image for %s", c, h.Version)
		}
	}
	return nil
}
