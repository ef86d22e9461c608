package upgrade

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// Result is the outcome of an upgrade or a rollback, for the summary and -o json.
type Result struct {
	ID         string        `json:"id"`
	From       string        `json:"from"`
	To         string        `json:"to"`
	State      string        `json:"state"`
	BackupDir  string        `json:"backup_dir"`
	Log        string        `json:"log"`
	Steps      []StepRecord  `json:"steps"`
	Rollback   []StepRecord  `json:"rollback,omitempty"`
	Took       time.Duration `json:"took_ns"`
	Error      string        `json:"error,omitempty"`
	RollbackOf string        `json:"rollback_of,omitempty"`
	// CountsBefore and CountsAfter are the projects and repositories of the old and the new
	// Harbor (see Journal).
	CountsBefore *DataCounts `json:"counts_before,omitempty"`
	CountsAfter  *DataCounts `json:"counts_after,omitempty"`
}

// FailedError is an upgrade that failed after changing the host. RolledBack says whether the
// host is back on the old version (exit status 1 either way; 3 is RollbackFailedError).
type FailedError struct {
	Step       string
	Err        error
	RolledBack bool
	Journal    *Journal
}

func (e *FailedError) Error() string {
	j := e.Journal
	if e.RolledBack {
		return fmt.Sprintf("upgrade failed at step %s: %v. Rolled back: Harbor %s is running again from %s with its data as before. Evidence: %s (failed install, if any: %s); log: %s",
			e.Step, e.Err, j.From, j.InstallDir, j.Dir(), filepath.Join(j.Dir(), "failed-harbor"), filepath.Join(j.Dir(), LogName))
	}
	return fmt.Sprintf("upgrade failed at step %s: %v. NOT rolled back (--no-rollback): run again with --resume to retry, or `rollback --backup %s` to return to %s; log: %s",
		e.Step, e.Err, j.ID, j.From, filepath.Join(j.Dir(), LogName))
}
func (e *FailedError) Unwrap() error { return e.Err }

// ExitCode: failed (and rolled back unless asked not to).
func (e *FailedError) ExitCode() int { return 1 }

// Execute runs the plan: stop, backup, load, migrate, install, health. On failure it rolls
// back unless NoRollback. The error is a *FailedError, *RollbackFailedError, or a refusal.
func (u *Upgrade) Execute(ctx context.Context) (*Result, error) {
	if u.o.DryRun {
		return nil, errors.New("a dry run does not execute")
	}
	start := time.Now()
	if u.journal == nil {
		if err := u.startJournal(); err != nil {
			return nil, err
		}
	}
	j := u.journal
	for _, name := range u.stepNames() {
		if j.StepStatus(name) == StatusDone {
			continue
		}
		if err := u.enterStep(name); err != nil {
			return u.fail(ctx, name, err, start)
		}
		if err := u.runStep(ctx, name); err != nil {
			return u.fail(ctx, name, err, start)
		}
	}
	j.State = StateDone
	if err := j.Save(); err != nil {
		return nil, err
	}
	fmt.Fprintf(u.o.Out, "Harbor %s -> %s done in %s. Backup: %s (roll back with `rollback --backup %s`).\n",
		j.From, j.To, time.Since(start).Round(time.Second), j.Dir(), j.ID)
	return u.result(start), nil
}

func (u *Upgrade) startJournal() error {
	to := u.manifest.Release
	if u.full != nil { // a chain: manifest is the first hop's view
		to = u.full.Release
	}
	j, err := newJournal(u.o.BackupDir, time.Now(), u.in.Version, to)
	if err != nil {
		return err
	}
	j.Bundle = u.o.BundleRef
	j.InstallDir, j.DataVolume, j.HTTPPort, j.HTTPSPort = u.in.Dir, u.in.DataVolume, u.in.HTTPPort, u.in.HTTPSPort
	j.Components, j.InstallFlags, j.OldInstallFlags = u.components, flagsFor(u.components), u.in.InstallFlags()
	j.OldImages = oldImages(u.in)
	if u.plan != nil {
		j.ComposeOld, j.ComposeNew = u.plan.ComposeOld, u.plan.ComposeNew
	}
	if u.target != nil {
		j.APIBase = u.target.APIBase
	}
	if old, err := u.o.Catalog.Get(u.in.Version); err == nil {
		j.OldAPIBase = old.APIBase
	}
	if u.records != nil { // a multi-hop bundle (chain_run.go)
		j.Chain = &ChainRecord{Hops: u.records, KeepProgress: u.o.KeepProgress}
	}
	u.journal = j
	u.log.hideSecretsOf(u.in.ConfigPath())
	if err := u.log.attach(filepath.Join(j.Dir(), LogName)); err != nil {
		return fmt.Errorf("creating log: %w", err)
	}
	fmt.Fprintf(u.log, "upgrade %s: Harbor %s -> %s in %s\n", j.ID, j.From, j.To, j.InstallDir)
	return j.Save()
}

// runStep records the step in the journal before and after running it.
func (u *Upgrade) runStep(ctx context.Context, name string) error {
	j := u.journal
	if err := j.begin(name); err != nil {
		return err
	}
	fmt.Fprintf(u.o.Out, "==> %s\n", name)
	fmt.Fprintf(u.log, "==> step %s\n", name)
	t := time.Now()
	failpoint(name + ":begin")
	if u.beforeStep != nil {
		u.beforeStep(name)
	}
	err := u.explainNoSpace(name, u.stepFunc(name)(ctx))
	if err == nil {
		failpoint(name + ":end")
	}
	if jerr := j.end(name, err); jerr != nil && err == nil {
		err = jerr
	}
	if err != nil {
		fmt.Fprintf(u.o.Out, "    %s failed after %s: %v\n", name, time.Since(t).Round(time.Millisecond), err)
		fmt.Fprintf(u.log, "step %s failed: %v\n", name, err)
		return err
	}
	fmt.Fprintf(u.o.Out, "    %s done in %s\n", name, time.Since(t).Round(time.Millisecond))
	return nil
}

func (u *Upgrade) stepFunc(name string) func(context.Context) error {
	_, step := splitStepName(name) // a chain's "v2.4.3/install" is the one-hop install
	switch step {
	case StepHopStop:
		return u.hopStop
	case StepStop:
		return u.stop
	case StepBackup:
		return u.backup
	case StepLoad:
		return u.load
	case StepMigrate:
		return u.migrate
	case StepInstall:
		return u.install
	case StepHealth:
		return u.health
	}
	return func(context.Context) error { return fmt.Errorf("unknown step %s", name) }
}

// fail handles a step's failure: roll back unless told not to. An interrupted upgrade (ctx
// cancelled) is left for --resume or rollback: rolling back under a dying context would fail too.
func (u *Upgrade) fail(ctx context.Context, step string, err error, start time.Time) (*Result, error) {
	j := u.journal
	j.Error = fmt.Sprintf("step %s: %v", step, err)
	if ctx.Err() != nil || u.o.NoRollback {
		j.State = StateFailed
		j.Save()
		if ctx.Err() != nil {
			return u.result(start), fmt.Errorf("interrupted during step %s; run again with --resume or `rollback --backup %s`: %w", step, j.ID, ctx.Err())
		}
		return u.result(start), &FailedError{Step: step, Err: err, Journal: j}
	}
	if u.keepsProgress() {
		return u.keepProgress(ctx, step, err, start)
	}
	fmt.Fprintf(u.o.Out, "Rolling back to %s...\n", j.From)
	if rerr := rollback(ctx, u.rollbackEnv(), j); rerr != nil {
		return u.result(start), rerr
	}
	return u.result(start), &FailedError{Step: step, Err: err, RolledBack: true, Journal: j}
}

func (u *Upgrade) result(start time.Time) *Result {
	j := u.journal
	return &Result{ID: j.ID, From: j.From, To: j.To, State: j.State, BackupDir: j.Dir(),
		Log: filepath.Join(j.Dir(), LogName), Steps: j.Steps, Rollback: j.Rollback,
		Took: time.Since(start), Error: j.Error, CountsBefore: j.CountsBefore, CountsAfter: j.CountsAfter}
}
