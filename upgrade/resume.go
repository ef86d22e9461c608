package upgrade

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/harborbundle/bundle/progress"
)

// prepareResume handles an unfinished upgrade found in the backup dir: refused unless this is
// the same bundle and --resume was given; then the plan continues from the journal.
func (u *Upgrade) prepareResume(ctx context.Context, j *Journal) error {
	if j.Bundle.ManifestSHA256 != u.o.BundleRef.ManifestSHA256 {
		return &OpenJournalError{Journal: j, Other: true}
	}
	if !u.o.Resume {
		return &OpenJournalError{Journal: j}
	}
	if j.State == StateRollingBack || j.State == StateRollbackFailed {
		return &DetectError{fmt.Sprintf("a rollback of upgrade %s was started and did not finish; run `rollback --backup %s` to complete it", j.ID, j.ID)}
	}
	if j.Chain != nil {
		if err := u.resumeChain(j); err != nil {
			return err
		}
	}
	u.journal = j
	u.in = &Install{Dir: j.InstallDir, DirFrom: "journal " + j.ID, Version: j.From, DataVolume: j.DataVolume,
		HTTPPort: j.HTTPPort, HTTPSPort: j.HTTPSPort, Images: j.OldImages}
	u.components = j.Components
	u.needed = neededImages(u.manifest, j.Components)
	name, status := j.LastStep()
	f := &facts{in: u.in, manifest: u.manifest, components: j.Components, euid: os.Geteuid()}
	f.docker, f.dockerErr = u.o.Engine.Version(ctx)
	f.compose, f.composeErr = u.o.Engine.ComposeVersion(ctx)
	f.plugin, f.pluginErr = u.o.Engine.PluginComposeVersion(ctx)
	f.target = u.target
	if u.o.Catalog != nil {
		f.old, _ = u.o.Catalog.Get(j.From)
	}
	var checks []Check
	for _, c := range evaluate(f) {
		switch c.Name {
		case "docker", "compose", "root":
			checks = append(checks, c)
		}
	}
	toLoad, present, bytes := u.imagesToLoad(ctx)
	u.plan = &Plan{From: j.From, To: j.To, Bundle: u.o.BundleRef, Install: u.in, BackupDir: u.o.BackupDir,
		ImagesToLoad: toLoad, ImagesLoaded: present, ImageBytes: bytes, InstallFlags: j.InstallFlags,
		Checks: checks, HealthWait: u.o.HealthTimeout, Rollback: !u.o.NoRollback,
		Resume: &ResumePoint{ID: j.ID, LastStep: name, Status: status}, ConfigVersion: u.targetConfig}
	u.plan.Steps = planSteps(u.plan, u.manifest.Migration.Image)
	if j.Chain != nil {
		u.plan.Steps = chainResumeSteps(j)
	}
	for i := range u.plan.Steps {
		u.plan.Steps[i].Skipped = j.StepStatus(u.plan.Steps[i].Name) == StatusDone
	}
	if failed := u.plan.Failed(); len(failed) > 0 {
		return &PreflightError{Failed: failed}
	}
	if u.o.DryRun {
		return nil
	}
	u.log.hideSecretsOf(filepath.Join(j.Dir(), "harbor", "harbor.yml"))
	u.log.hideSecretsOf(filepath.Join(j.InstallDir, "harbor.yml"))
	if err := u.log.attach(filepath.Join(j.Dir(), LogName)); err != nil {
		return err
	}
	fmt.Fprintf(u.log, "resuming upgrade %s after step %s (%s)\n", j.ID, name, status)
	j.State, j.Error = StateRunning, ""
	return j.Save()
}

// RollbackOptions configure an on-demand rollback.
type RollbackOptions struct {
	BackupDir string // default DefaultBackupDir
	// ID names the backup (its directory name); default: the unfinished upgrade, else the
	// latest one.
	ID             string
	Engine         Engine
	HealthTimeout  time.Duration
	HealthInterval time.Duration
	Out            io.Writer
	Progress       progress.Reporter
}

// FindBackup returns the journal a rollback with this backup dir and id would use: the named
// one, else the unfinished upgrade, else the latest.
func FindBackup(backupDir, id string) (*Journal, error) {
	if backupDir == "" {
		backupDir = DefaultBackupDir
	}
	if id != "" {
		if id != filepath.Base(id) || id == "." || id == ".." {
			return nil, &DetectError{fmt.Sprintf("--backup %q: give the backup's id as `status` lists it", id)}
		}
		j, err := ReadJournal(filepath.Join(backupDir, id))
		if err != nil {
			return nil, &DetectError{fmt.Sprintf("no backup %s in %s (see `status`): %v", id, backupDir, err)}
		}
		return j, nil
	}
	js, err := Journals(backupDir)
	if err != nil {
		return nil, err
	}
	for i := len(js) - 1; i >= 0; i-- {
		if js[i].Open() {
			return js[i], nil
		}
	}
	if len(js) > 0 {
		return js[len(js)-1], nil // the latest: rolling back an older one needs --backup ID
	}
	return nil, &DetectError{fmt.Sprintf("no upgrade to roll back in %s", backupDir)}
}

// Rollback returns the host to the state before the upgrade recorded in a backup: after an
// interrupted upgrade, a failed one, or a finished one the administrator wants undone. It
// refuses, changing nothing, when the backup no longer matches its checksums.
func Rollback(ctx context.Context, o RollbackOptions) (*Result, error) {
	if o.BackupDir == "" {
		o.BackupDir = DefaultBackupDir
	}
	uo := Options{BackupDir: o.BackupDir, HealthTimeout: o.HealthTimeout, HealthInterval: o.HealthInterval, Out: o.Out, Progress: o.Progress}
	uo.defaults()
	lock, err := AcquireLock(o.BackupDir)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	j, err := FindBackup(o.BackupDir, o.ID)
	if err != nil {
		return nil, err
	}
	if j.State == StateRolledBack {
		return nil, &DetectError{fmt.Sprintf("upgrade %s was already rolled back to %s", j.ID, j.From)}
	}
	log := newRunLog()
	defer log.Close()
	log.hideSecretsOf(filepath.Join(j.Dir(), "harbor", "harbor.yml"))
	log.hideSecretsOf(filepath.Join(j.InstallDir, "harbor.yml"))
	if err := log.attach(filepath.Join(j.Dir(), LogName)); err != nil {
		return nil, err
	}
	eng := o.Engine
	if eng == nil {
		eng = NewDockerEngine(log)
	}
	env := rollbackEnv{eng: eng, out: uo.Out, log: log, progress: uo.Progress, timeout: uo.HealthTimeout, interval: uo.HealthInterval}
	fmt.Fprintf(log, "rollback of %s requested (state %s)\n", j.ID, j.State)
	start := time.Now()
	err = rollback(ctx, env, j)
	res := &Result{ID: j.ID, From: j.To, To: j.From, State: j.State, BackupDir: j.Dir(), Log: filepath.Join(j.Dir(), LogName),
		Steps: j.Steps, Rollback: j.Rollback, Took: time.Since(start), RollbackOf: j.ID}
	if err != nil {
		res.Error = err.Error()
		return res, err
	}
	fmt.Fprintf(uo.Out, "Rolled back to Harbor %s in %s (backup %s kept).\n", j.From, res.Took.Round(time.Second), j.Dir())
	return res, nil
}
