package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/harborbundle/bundle/upgrade"
)

// refreshReport is the -o json document of a DB-only refresh.
type refreshReport struct {
	Plan   *upgrade.RefreshPlan   `json:"plan,omitempty"`
	Result *upgrade.RefreshResult `json:"result,omitempty"`
	Error  string                 `json:"error,omitempty"`
	Exit   int                    `json:"exit_code"`
}

// runRefresh is what a DB-only .run (bundle build --trivy-db-only) does when run: refresh the
// Trivy DB of the running Harbor, with the upgrade's flags that apply (--yes, --dry-run,
// --harbor-dir, --backup-dir, --health-timeout, -o, --force).
func (a *app) runRefresh(ctx context.Context, opts upgrade.Options, f *upgradeFlags, jsonOut bool) (err error) {
	rep := &refreshReport{}
	if jsonOut {
		defer func() {
			if err != nil {
				rep.Error, rep.Exit = err.Error(), exitCode(err)
			}
			writeJSON(a.stdout, rep)
		}()
	}
	r, err := upgrade.PrepareRefresh(ctx, upgrade.RefreshOptions{
		Bundle: opts.Bundle, BundleRef: opts.BundleRef, HarborDir: opts.HarborDir, BackupDir: opts.BackupDir,
		Force: f.force, DryRun: f.dryRun, Timeout: f.healthTimeout, Out: opts.Out, Progress: opts.Progress,
	})
	var nothing *upgrade.AlreadyRefreshedError
	if errors.As(err, &nothing) {
		fmt.Fprintln(a.stderr, nothing.Error())
		return nil
	}
	if err != nil {
		return err
	}
	defer r.Close()
	rep.Plan = r.Plan()
	if !jsonOut {
		r.Plan().WriteText(a.stdout)
	}
	if f.dryRun {
		fmt.Fprintln(a.stderr, "Dry run: every check passed. Nothing was changed.")
		return nil
	}
	if !f.yes {
		if err := a.confirm("Proceed with the DB refresh?"); err != nil {
			return err
		}
	}
	res, err := r.Execute(ctx)
	rep.Result = res
	if err == nil && !jsonOut {
		fmt.Fprintf(a.stdout, "Trivy DB refreshed in %s. Log: %s\n", res.Took.Round(1e6), res.Log)
	}
	return err
}
