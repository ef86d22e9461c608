package upgrade

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/progress"
	"golang.org/x/sys/unix"
)

// DefaultBackupDir is where backups go unless --backup-dir says otherwise.
const DefaultBackupDir = "/var/backups/harbor"

// DefaultHealthTimeout is generous: the first start after 1.8 runs a quota sync over every blob.
const DefaultHealthTimeout = 20 * time.Minute

// Source is the bundle being installed; *payload.Reader is one.
type Source interface {
	Manifest() *payload.Manifest
	Verify(ctx context.Context, p progress.Reporter) error
	OpenEntry(path string) (io.ReadCloser, error)
	DockerArchive(ctx context.Context, w io.Writer, refs []string) error
}

// Options configure an upgrade. The zero value of every field but Bundle is usable.
type Options struct {
	Bundle    Source
	BundleRef BundleRef // path and manifest sha256, recorded in the journal
	// Engine runs docker; the default is the real CLI, logging into the upgrade's log file.
	Engine Engine
	// DBChecker finds a database left dirty by a failed schema migration; default DefaultDBChecker.
	DBChecker DBChecker
	HarborDir string // --harbor-dir; default: from running containers, else ./harbor
	BackupDir string // --backup-dir; default DefaultBackupDir
	// Components overrides the optional components (default: what the install uses).
	Components []string
	// DropComponents (--drop-components) names the optional components in use that the target
	// no longer has (clair at 2.2, chartmuseum at 2.8, notary at 2.9): the administrator's
	// consent to lose what the plan says they hold. Without it such an upgrade is refused.
	DropComponents []string
	// Catalog holds what bundle knows of each release (postgres step, drops, refused flags,
	// compose needs); default harbor.DefaultCatalog.
	Catalog       *harbor.Catalog
	HealthTimeout time.Duration // default DefaultHealthTimeout
	// HealthInterval is the longest pause between health polls (they start at a quarter of a
	// second and double up to it); default 2s.
	HealthInterval time.Duration
	DryRun         bool
	NoRollback     bool
	Resume         bool
	// KeepProgress: when a hop of a multi-hop bundle fails after an earlier hop finished, stop
	// at the last healthy hop instead of rolling back to the start (chain_keep.go).
	KeepProgress bool
	// Out receives one line per step and the health wait's progress; default discard.
	Out io.Writer
	// Progress receives byte progress of the verify, backup and load steps.
	Progress progress.Reporter
}

func (o *Options) defaults() {
	if o.BackupDir == "" {
		o.BackupDir = DefaultBackupDir
	}
	if o.HealthTimeout <= 0 {
		o.HealthTimeout = DefaultHealthTimeout
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = 2 * time.Second
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	o.Progress = progress.Or(o.Progress)
}

// BundleError is a bundle that failed verification: refused before any change.
type BundleError struct{ Err error }

func (e *BundleError) Error() string {
	return fmt.Sprintf("the bundle is damaged: %v; copy it again and compare it with its .sha256", e.Err)
}
func (e *BundleError) Unwrap() error { return e.Err }

// ExitCode: refused before any change.
func (e *BundleError) ExitCode() int { return 2 }

// OpenJournalError is an unfinished upgrade found where a new one would start.
type OpenJournalError struct {
	Journal *Journal
	Other   bool // started by a different bundle
}

// Error says what to run next: --resume, or rollback when a rollback was under way.
func (e *OpenJournalError) Error() string { return nextAction(e.Journal) + e.hint() }

func (e *OpenJournalError) hint() string {
	if e.Other {
		return fmt.Sprintf(" It was started by another bundle (%s, manifest %s): finish it with that bundle, or roll it back.", e.Journal.Bundle.Release, short(e.Journal.Bundle.ManifestSHA256))
	}
	return ""
}

// ExitCode: refused before any change.
func (e *OpenJournalError) ExitCode() int { return 2 }

func openJournalErr(j *Journal) error {
	name, status := j.LastStep()
	where := "before its first step"
	if name != "" {
		where = fmt.Sprintf("at step %s (%s)", name, status)
	}
	return fmt.Errorf("an upgrade %s -> %s (%s) did not finish: it stopped %s, state %s. Run again with --resume to finish it, or run `rollback --backup %s` to return to %s.",
		j.From, j.To, j.ID, where, j.State, j.ID, j.From)
}

// Upgrade is a prepared upgrade: verified, detected, checked and planned, nothing changed yet.
// It holds the lock (unless it is a dry run) until Close.
type Upgrade struct {
	o        Options
	plan     *Plan
	in       *Install
	manifest *payload.Manifest
	// targetConfig is the `_version` harbor.yml must have after migration.
	targetConfig string
	// target is the catalog's entry of the bundle's release; nil when the catalog lacks it
	// (a bundle built with a --catalog file this binary does not have).
	target     *harbor.Release
	needed     []payload.Image
	components []string // of the new install
	journal    *Journal
	lock       *Lock
	log        *runLog
	// beforeStep, when set (tests only), runs after a step is journaled as started.
	beforeStep func(step string)
	// A multi-hop bundle (chain_*.go): full is its manifest and src the bundle itself, while
	// manifest and o.Bundle are the current hop's one-hop view; hops is the host's chain.
	full     *payload.Manifest
	src      Source
	hops     []payload.Hop
	hopIndex int
	hopReady bool        // the journal's fields are the current hop's (enterHop ran with a journal)
	records  []HopRecord // the chain's hops as the journal will record them (a fresh chain)
}

// Plan is what Execute will do.
func (u *Upgrade) Plan() *Plan { return u.plan }

// Close releases the lock.
func (u *Upgrade) Close() error {
	u.lock.Release()
	return u.log.Close()
}

// Prepare verifies the bundle, finds the install, runs every preflight check and makes the plan.
// It changes nothing on the host (it creates the backup dir and its lock unless DryRun). Errors
// implement ExitCode: 2 for refusals, 0 for *harbor.AlreadyInstalledError.
func Prepare(ctx context.Context, o Options) (_ *Upgrade, err error) {
	o.defaults()
	u := &Upgrade{o: o, log: newRunLog()}
	defer func() {
		if err != nil {
			u.Close() // the plan (if any) stays readable
		}
	}()
	if u.o.Engine == nil {
		u.o.Engine = NewDockerEngine(u.log)
	}
	if u.o.DBChecker == nil {
		u.o.DBChecker = DefaultDBChecker(u.o.Engine)
	}
	u.manifest = o.Bundle.Manifest()
	fmt.Fprintf(u.o.Out, "Verifying %s (Harbor %s)...\n", o.BundleRef.Path, u.manifest.Release)
	if err := o.Bundle.Verify(ctx, u.o.Progress); err != nil {
		return nil, &BundleError{err}
	}
	failpoint("verify:end") // in -tags failpoint test builds only: proves a release build has none
	lockErr := u.takeLock()
	if _, ok := lockErr.(*LockedError); ok {
		return nil, lockErr // another run is working: nothing else is worth reporting
	}
	if err := u.loadTargetConfig(); err != nil {
		return nil, err
	}
	open, err := OpenJournal(o.BackupDir)
	if err != nil {
		return nil, err
	}
	if open != nil {
		return u, u.prepareResume(ctx, open)
	}
	if o.Resume {
		return nil, &DetectError{fmt.Sprintf("--resume: no unfinished upgrade in %s", o.BackupDir)}
	}
	return u, u.prepareFresh(ctx, lockErr)
}

func (u *Upgrade) takeLock() error {
	if u.o.DryRun {
		return CheckLock(u.o.BackupDir)
	}
	if err := os.MkdirAll(u.o.BackupDir, 0o700); err != nil {
		return fmt.Errorf("creating backup dir: %w", err)
	}
	l, err := AcquireLock(u.o.BackupDir)
	u.lock = l
	return err
}

// loadTargetConfig finds the `_version` a migrated harbor.yml must say: the catalog's
// config_version of the release (the `-t` default of its `prepare migrate`, the 1.x migrator's
// target), else the `_version` of the harbor.yml(.tmpl) the bundle's installer ships. The
// catalog comes first because the shipped file can lag behind: 2.1.x ships a harbor.yml.tmpl
// saying 2.0.0 while its prepare migrates to 2.1.0.
func (u *Upgrade) loadTargetConfig() error {
	if u.o.Catalog == nil {
		cat, err := harbor.DefaultCatalog()
		if err != nil {
			return err
		}
		u.o.Catalog = cat
	}
	if r, err := u.o.Catalog.Get(u.manifest.Release); err == nil {
		u.target, u.targetConfig = r, r.ConfigVersion
		return nil
	}
	for _, name := range []string{"installer/harbor.yml", "installer/harbor.yml.tmpl"} {
		r, err := u.o.Bundle.OpenEntry(name)
		if err != nil {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(r, harbor.MaxConfigSize))
		r.Close()
		if err != nil {
			return &BundleError{err}
		}
		c, err := harbor.ParseConfig(b)
		if err != nil {
			return &BundleError{fmt.Errorf("%s: %w", name, err)}
		}
		u.targetConfig = c.ConfigVersion()
		return nil
	}
	return &BundleError{fmt.Errorf("the bundle ships no harbor.yml and %s is not in the catalog", u.manifest.Release)}
}

func (u *Upgrade) prepareFresh(ctx context.Context, lockErr error) error {
	in, err := Detect(ctx, u.o.Engine, u.o.HarborDir)
	if err != nil {
		return err
	}
	u.in = in
	if !in.Running {
		fmt.Fprintf(u.o.Out, "Harbor %s in %s is not running; detected from its files.\n", in.Version, in.Dir)
	}
	if len(u.manifest.Hops) > 0 {
		return u.prepareChain(ctx, in, lockErr)
	}
	var already *harbor.AlreadyInstalledError
	if err := pathErr(in.Version, u.manifest, nil); errors.As(err, &already) {
		return err
	}
	f := gatherFacts(ctx, &u.o, in, u.manifest, u.target, u.targetConfig)
	f.lockErr = lockErr
	u.needed = neededImages(u.manifest, f.components)
	toLoad, present, bytes := u.imagesToLoad(ctx)
	f.imagesNeed = withMargin(bytes)
	if root, err := u.o.Engine.RootDir(ctx); err != nil {
		f.imagesErr = err
	} else {
		f.imagesFree, f.imagesErr = freeBytes(root)
	}
	u.plan = &Plan{
		From: in.Version, To: u.manifest.Release, Bundle: u.o.BundleRef, Install: in,
		BackupDir: u.o.BackupDir, BackupBytes: f.backupNeed, BackupFree: f.backupFree,
		ImagesToLoad: toLoad, ImagesLoaded: present, ImageBytes: bytes,
		InstallFlags: flagsFor(f.components), Checks: evaluate(f), HealthWait: u.o.HealthTimeout,
		Rollback: !u.o.NoRollback, ConfigVersion: u.targetConfig, InstallFiles: f.installFiles,
	}
	u.components = f.components
	u.plan.Checks = append(u.plan.Checks, u.scanDBCheck(f))
	u.plan.Postgres, u.plan.Drops = f.postgres, f.drops
	u.plan.ComposeOld, u.plan.ComposeNew = f.composeOld, f.composeNew
	if u.target != nil {
		u.plan.APIBase = u.target.APIBase
	}
	u.plan.Counts, u.plan.CountsUnknown = countsBefore(ctx, u.o.Engine, in)
	u.plan.Notes = notes(in, u.manifest.Release)
	u.plan.Steps = planSteps(u.plan, u.manifest.Migration.Image)
	if failed := u.plan.Failed(); len(failed) > 0 {
		return &PreflightError{Failed: failed}
	}
	return nil
}

// neededImages are the bundle's images the new install runs, plus prepare and the migrator.
func neededImages(m *payload.Manifest, components []string) []payload.Image {
	want := map[string]bool{harbor.Core: true, harbor.Prepare: true, harbor.Migrator: true}
	for _, c := range components {
		want[c] = true
	}
	var out []payload.Image
	for _, img := range m.Images {
		if want[img.Component] {
			out = append(out, img)
		}
	}
	return out
}

// imagesToLoad splits the needed images into those to load and those already present with the
// right ID; bytes is the uncompressed size of the former.
func (u *Upgrade) imagesToLoad(ctx context.Context) (load, present []string, bytes int64) {
	ids, err := u.o.Engine.ImageIDs(ctx, u.neededRefs())
	for _, img := range u.needed {
		if id := ids[img.Ref]; err == nil && id == img.ConfigDigest {
			present = append(present, img.Ref)
			continue
		}
		load = append(load, img.Ref)
		bytes += img.UncompressedSize
	}
	return load, present, bytes
}

func (u *Upgrade) neededRefs() []string {
	refs := make([]string, len(u.needed))
	for i, img := range u.needed {
		refs[i] = img.Ref
	}
	return refs
}

// notes are the upgrade guide's warnings that apply to this path.
func notes(in *Install, to string) []string {
	from, _ := harbor.ParseVersion(in.Version)
	var n []string
	if from.Major == 1 && from.Minor < 9 {
		n = append(n,
			"First start after 1.8: core runs a quota sync over every blob in the registry; it can take minutes (the health wait allows for it).",
			"From 1.9 most containers run as uid 10000, not root; prepare re-owns the data dirs whose top-level owner is wrong. Customised installs may hit permission errors."+ownersNote(in.DataVolume),
			"Replication between Harbor 1.9+ and older versions does not work: upgrade every replicating Harbor.")
	}
	n = append(n, "User roles and group roles are now combined: a user gets the highest permissions of both, so some users' permissions may change.")
	n = append(n, fmt.Sprintf("Harbor cannot be downgraded: after the upgrade, the way back to %s is `rollback`, which restores this upgrade's backup.", in.Version))
	return n
}

// ownersNote lists data dirs not owned as Harbor 1.9+ expects.
func ownersNote(dv string) string {
	want := map[string]int{"database": 999, "redis": 999, "registry": 10000, "job_logs": 10000, "chart_storage": 10000}
	var odd []string
	for _, name := range []string{"database", "redis", "registry", "job_logs", "chart_storage"} {
		if uid, ok := ownerUID(dv + "/" + name); ok && uid != want[name] {
			odd = append(odd, fmt.Sprintf("%s/%s is owned by uid %d (expected %d)", dv, name, uid, want[name]))
		}
	}
	if len(odd) == 0 {
		return ""
	}
	return " Found: " + strings.Join(odd, "; ") + "."
}

func ownerUID(path string) (int, bool) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, false
	}
	return int(st.Uid), true
}
