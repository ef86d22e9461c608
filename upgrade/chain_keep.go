package upgrade

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// --keep-progress: a chain that fails at hop N after hop N-1 finished can stop on hop N-1
// instead of returning to the start. What makes hop N-1 a place to stop is that its data is
// consistent there: its Harbor was healthy with the counts recorded before the stop, then
// stopped cleanly by stop-hop, and stop-hop (with --keep-progress) copied the database and
// secret trees at that moment, checksummed, into <backup>/hops/<version>-data (the checkpoint;
// the previous one is removed once the new one is complete, so besides the starting backup the
// backup place holds one copy of the data trees, two while the next is made: preflight adds
// that to the space it asks for). Hop N's
// harbor-db and core change the database in place (pg_upgrade deletes the old cluster), so
// without that copy the way back to hop N-1 would not exist.
//
// On a failure the failed hop is stopped and kept as evidence (failed-harbor-<version>), the
// checkpoint's trees are restored, hop N-1's install dir comes back from <backup>/hops, its
// install.sh runs with its flags and health and the counts are checked; the journal ends in
// state kept-progress with Chain.KeptAt. `rollback --backup ID` still returns to the start
// (the one backup is untouched). When any of this fails, or is interrupted, the whole chain is
// rolled back to the start as without --keep-progress.

// KeptProgressError is a chain that failed at a hop and was left on the last healthy one.
type KeptProgressError struct {
	Step    string
	Err     error
	At      string
	Journal *Journal
}

func (e *KeptProgressError) Error() string {
	j := e.Journal
	return fmt.Sprintf("upgrade failed at step %s: %v. --keep-progress: Harbor %s (the last hop that finished) is running from %s with its data as it was when that hop stopped. Run the bundle again later to continue from %s (a new upgrade, with its own backup), or run `rollback --backup %s` to return to %s; log: %s",
		e.Step, e.Err, e.At, j.InstallDir, e.At, j.ID, j.From, filepath.Join(j.Dir(), LogName))
}
func (e *KeptProgressError) Unwrap() error { return e.Err }

// ExitCode: failed (not on the target).
func (e *KeptProgressError) ExitCode() int { return 1 }

func checkpointDir(j *Journal, version string) string { return hopDir(j, version) + "-data" }

// checkpoint copies the stopped hop's database and secret trees (see above).
func (u *Upgrade) checkpoint(ctx context.Context) error {
	j := u.journal
	v := u.installVersion()
	if j.Chain.Checkpoint == v {
		return nil
	}
	dir := checkpointDir(j, v)
	if err := os.RemoveAll(dir); err != nil { // an unrecorded copy: ours by name
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, name := range []string{"database", "secret"} {
		src := filepath.Join(j.DataVolume, name)
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		m, err := CopyTreeVerified(ctx, src, filepath.Join(dir, name), u.o.Progress, "checkpoint "+name)
		if err != nil {
			return fmt.Errorf("checkpoint of %s at %s: %w", src, v, err)
		}
		if _, err := WriteTreeManifest(filepath.Join(dir, name+".tree.json"), m); err != nil {
			return err
		}
	}
	prev := j.Chain.Checkpoint
	j.Chain.Checkpoint = v
	if err := j.Save(); err != nil {
		return err
	}
	if prev != "" {
		os.RemoveAll(checkpointDir(j, prev)) // superseded; the journal no longer names it
	}
	fmt.Fprintf(u.log, "checkpoint of Harbor %s's data in %s\n", v, dir)
	return nil
}

// keepsProgress: --keep-progress and a hop finished with a checkpoint to return to.
func (u *Upgrade) keepsProgress() bool {
	c := u.journal.Chain
	return c != nil && c.KeepProgress && c.Checkpoint != ""
}

// keepProgress leaves the host on the checkpoint's hop after a failure at step; when that
// fails it rolls back to the start.
func (u *Upgrade) keepProgress(ctx context.Context, step string, stepErr error, start time.Time) (*Result, error) {
	j := u.journal
	at := j.Chain.Checkpoint
	fmt.Fprintf(u.o.Out, "--keep-progress: returning to Harbor %s, the last hop that finished...\n", at)
	j.State = StateRollingBack // interrupted from here, `rollback` returns to the start
	if err := j.Save(); err != nil {
		return u.result(start), err
	}
	rec := StepRecord{Name: "keep-progress:" + at, Status: StatusStarted, Started: time.Now().UTC()}
	j.Rollback = append(j.Rollback, rec)
	j.Save()
	err := u.returnToCheckpoint(ctx, at)
	r := &j.Rollback[len(j.Rollback)-1]
	r.Ended, r.Status = time.Now().UTC(), StatusDone
	r.Took = r.Ended.Sub(r.Started)
	if err != nil {
		r.Status, r.Error = StatusFailed, err.Error()
	}
	if err != nil {
		fmt.Fprintf(u.log, "--keep-progress: returning to %s failed: %v; rolling back to %s\n", at, err, j.From)
		fmt.Fprintf(u.o.Out, "    returning to %s failed (%v); rolling back to %s...\n", at, err, j.From)
		if rerr := rollback(ctx, u.rollbackEnv(), j); rerr != nil {
			return u.result(start), rerr
		}
		return u.result(start), &FailedError{Step: step, Err: stepErr, RolledBack: true, Journal: j}
	}
	j.State, j.Chain.KeptAt = StateKeptProgress, at
	if err := j.Save(); err != nil {
		return u.result(start), err
	}
	return u.result(start), &KeptProgressError{Step: step, Err: stepErr, At: at, Journal: j}
}

func (u *Upgrade) returnToCheckpoint(ctx context.Context, at string) error {
	j := u.journal
	env := u.rollbackEnv()
	i := len(j.Chain.Hops) - 1
	for i >= 0 && j.Chain.Hops[i].Version != at {
		i--
	}
	if i < 0 {
		return fmt.Errorf("the checkpoint %s is not a hop of the chain", at)
	}
	rec := j.Chain.Hops[i]
	// Stop what the failed hop started, with its tool, and keep it as evidence.
	if _, err := os.Stat(filepath.Join(j.InstallDir, "docker-compose.yml")); err == nil {
		if err := u.o.Engine.Compose(ctx, j.ComposeNew, j.InstallDir, "down"); err != nil {
			return err
		}
	}
	if err := ensureStopped(ctx, u.o.Engine, j.InstallDir); err != nil {
		return err
	}
	os.RemoveAll(u.stagingDir())
	if _, err := os.Lstat(j.InstallDir); err == nil {
		if err := moveDir(j.InstallDir, uniquePath(filepath.Join(j.Dir(), "failed-harbor-"+u.installVersion()))); err != nil {
			return err
		}
	}
	for _, name := range []string{"database", "secret"} {
		mpath := filepath.Join(checkpointDir(j, at), name+".tree.json")
		if _, err := os.Stat(mpath); err != nil {
			continue
		}
		m, err := ReadTreeManifest(mpath, "")
		if err != nil {
			return err
		}
		tr := TreeRecord{Source: filepath.Join(j.DataVolume, name), Path: filepath.Join(checkpointDir(j, at), name), Manifest: mpath, Bytes: m.Bytes(), Complete: true}
		if err := restoreTree(ctx, env, j, name, tr, tr.Source, false); err != nil {
			return err
		}
	}
	if err := moveDir(hopDir(j, at), j.InstallDir); err != nil {
		return fmt.Errorf("putting the %s install dir back: %w", at, err)
	}
	j.ComposeNew, j.APIBase, j.InstallFlags, j.Components = rec.Compose, rec.APIBase, rec.InstallFlags, rec.Components
	if err := j.Save(); err != nil {
		return err
	}
	if err := runInstallSh(ctx, j.InstallDir, rec.InstallFlags, u.log); err != nil {
		return err
	}
	in := &Install{Dir: j.InstallDir, DataVolume: j.DataVolume, HTTPPort: j.HTTPPort, HTTPSPort: j.HTTPSPort}
	if err := (healthWait{eng: u.o.Engine, db: coreLogChecker{u.o.Engine}, install: in, version: at, apiBase: rec.APIBase,
		timeout: u.o.HealthTimeout, interval: u.o.HealthInterval, out: u.o.Out}).run(ctx); err != nil {
		return err
	}
	if j.CountsBefore == nil {
		return nil
	}
	after, err := readCounts(ctx, u.o.Engine)
	if err != nil {
		return err
	}
	return compareCounts(j.CountsBefore, after)
}
