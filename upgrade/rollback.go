package upgrade

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/harborbundle/bundle/progress"
)

// Rollback step names, recorded in Journal.Rollback.
const (
	RollbackVerify  = "verify-backup"
	RollbackStop    = "stop-new"
	RollbackRestore = "restore"
	RollbackInstall = "install-old"
	RollbackHealth  = "health-old"
)

// rollbackEnv is what a rollback needs from its caller.
type rollbackEnv struct {
	eng      Engine
	out      io.Writer
	log      io.Writer
	progress progress.Reporter
	timeout  time.Duration
	interval time.Duration
}

func (u *Upgrade) rollbackEnv() rollbackEnv {
	return rollbackEnv{eng: u.o.Engine, out: u.o.Out, log: u.log, progress: u.o.Progress,
		timeout: u.o.HealthTimeout, interval: u.o.HealthInterval}
}

// BackupMismatchError is a backup that no longer matches the checksums recorded when it was
// taken: restoring it could lose data, so the rollback refuses before changing anything.
type BackupMismatchError struct {
	Tree  string
	Diffs []string
}

func (e *BackupMismatchError) Error() string {
	d := e.Diffs
	if len(d) > 5 {
		d = append(d[:5:5], fmt.Sprintf("and %d more", len(e.Diffs)-5))
	}
	return fmt.Sprintf("the backup of %s no longer matches its checksums (%s); refusing to restore it, nothing was changed", e.Tree, strings.Join(d, "; "))
}

// ExitCode: refused before any change.
func (e *BackupMismatchError) ExitCode() int { return 2 }

// RollbackFailedError is a rollback that failed half way; Commands finish it by hand.
type RollbackFailedError struct {
	Step     string
	Err      error
	Commands []string
}

func (e *RollbackFailedError) Error() string {
	return fmt.Sprintf("the rollback failed at %s: %v. Finish it by hand:\n  %s", e.Step, e.Err, strings.Join(e.Commands, "\n  "))
}
func (e *RollbackFailedError) Unwrap() error { return e.Err }

// ExitCode: failed and the rollback failed too.
func (e *RollbackFailedError) ExitCode() int { return 3 }

// rollback returns the host to the state recorded before the upgrade in j: the new install
// stopped and kept as evidence, the old install dir and (when the new Harbor may have touched
// them) the database and secret trees restored and verified, the old install.sh run, health.
func rollback(ctx context.Context, env rollbackEnv, j *Journal) error {
	if err := verifyBackup(j); err != nil {
		return err // nothing changed yet
	}
	discardIncompleteCopies(j)
	j.State = StateRollingBack
	j.Rollback = nil
	if err := j.Save(); err != nil {
		return err
	}
	steps := []struct {
		name string
		fn   func(context.Context, rollbackEnv, *Journal) error
	}{
		{RollbackStop, stopNew}, {RollbackRestore, restore}, {RollbackInstall, installOld}, {RollbackHealth, healthOld},
	}
	for _, s := range steps {
		fmt.Fprintf(env.out, "==> rollback: %s\n", s.name)
		fmt.Fprintf(env.log, "==> rollback step %s\n", s.name)
		rec := StepRecord{Name: s.name, Status: StatusStarted, Started: time.Now().UTC()}
		j.Rollback = append(j.Rollback, rec)
		j.Save()
		failpoint("rollback:" + s.name + ":begin")
		err := s.fn(ctx, env, j)
		if err == nil {
			failpoint("rollback:" + s.name + ":end")
		}
		r := &j.Rollback[len(j.Rollback)-1]
		r.Ended, r.Status = time.Now().UTC(), StatusDone
		r.Took = r.Ended.Sub(r.Started)
		if err != nil {
			r.Status, r.Error = StatusFailed, err.Error()
			j.State = StateRollbackFailed
			j.Save()
			fmt.Fprintf(env.log, "rollback step %s failed: %v\n", s.name, err)
			return &RollbackFailedError{Step: s.name, Err: err, Commands: manualCommands(j)}
		}
	}
	j.State = StateRolledBack
	return j.Save()
}

// verifyBackup re-checks every completed backup tree against its recorded manifest.
func verifyBackup(j *Journal) error {
	for _, name := range append([]string{"harbor", "database", "secret"}, j.ScanDBs...) {
		rec, ok := j.Backup.Trees[name]
		if !ok || !rec.Complete {
			continue
		}
		want, err := ReadTreeManifest(rec.Manifest, rec.SHA256)
		if err != nil {
			return &BackupMismatchError{Tree: name, Diffs: []string{err.Error()}}
		}
		got, err := ScanTree(rec.Path)
		if err != nil {
			return &BackupMismatchError{Tree: name, Diffs: []string{err.Error()}}
		}
		// The moved install dir's own mtime may change with the rename; contents may not.
		if d := DiffTrees(want, got, TreeDiffOptions{IgnoreTimes: rec.Moved}); len(d) > 0 {
			return &BackupMismatchError{Tree: name, Diffs: d}
		}
	}
	return nil
}

// discardIncompleteCopies removes the backup's copies the journal never marked complete (cut
// short by a full disk or a crash): ours by name, never restored, and on a full backup
// filesystem the journal cannot be saved until their space is back. The install dir is not
// among them: an unrecorded "harbor" may be the install dir itself, renamed (see restore).
func discardIncompleteCopies(j *Journal) {
	for _, name := range append([]string{"database", "secret"}, j.ScanDBs...) {
		if !j.Backup.Trees[name].Complete {
			os.RemoveAll(filepath.Join(j.Dir(), name))
		}
		os.RemoveAll(filepath.Join(j.Dir(), name+".partial"))
	}
	os.RemoveAll(filepath.Join(j.Dir(), "harbor.partial")) // the source goes only after a whole copy
}

// originalMoved says the install dir at InstallDir is no longer the original (it is in the
// backup), so whatever is there now is the new install.
func originalMoved(j *Journal) bool {
	if j.Backup.Trees["harbor"].Complete {
		return true
	}
	_, err := os.Lstat(j.InstallDir)
	_, berr := os.Lstat(filepath.Join(j.Dir(), "harbor"))
	return errors.Is(err, fs.ErrNotExist) && berr == nil
}

// stopNew stops whatever runs from the install dir and, when that is the new install, keeps it
// as <backup>/failed-harbor.
func stopNew(ctx context.Context, env rollbackEnv, j *Journal) error {
	dir := j.InstallDir
	// The new install was started by the new install.sh with its tool; until the original dir
	// moved into the backup, what runs there is the old install, started with the old tool.
	tool := j.ComposeOld
	if originalMoved(j) {
		tool = j.ComposeNew
	}
	if _, err := os.Stat(filepath.Join(dir, "docker-compose.yml")); err == nil {
		if err := env.eng.Compose(ctx, tool, dir, "down"); err != nil {
			return fmt.Errorf("stopping %s with %s: %w", dir, tool.Name(), err)
		}
	}
	if err := ensureStopped(ctx, env.eng, dir); err != nil {
		return err
	}
	stage := filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".new-"+j.ID)
	if err := os.RemoveAll(stage); err != nil { // a half laid-out new dir: ours by name
		return err
	}
	if !originalMoved(j) {
		return nil // the install dir is still the original one
	}
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if matchesBackup(j, "harbor", dir) {
		return nil // restored by an earlier, interrupted rollback: it is the old install
	}
	evidence := uniquePath(filepath.Join(j.Dir(), "failed-harbor"))
	if err := moveDir(dir, evidence); err != nil {
		return fmt.Errorf("keeping the failed install as %s: %w", evidence, err)
	}
	fmt.Fprintf(env.log, "kept the failed install as %s\n", evidence)
	return nil
}

// matchesBackup reports whether path holds exactly the backed-up tree name (times aside).
func matchesBackup(j *Journal, name, path string) bool {
	rec, ok := j.Backup.Trees[name]
	if !ok || !rec.Complete {
		return false
	}
	want, err := ReadTreeManifest(rec.Manifest, rec.SHA256)
	if err != nil {
		return false
	}
	got, err := ScanTree(path)
	return err == nil && len(DiffTrees(want, got, TreeDiffOptions{IgnoreTimes: true})) == 0
}

// restore puts back the install dir and, when they changed, the database and secret trees.
func restore(ctx context.Context, env rollbackEnv, j *Journal) error {
	if rec := j.Backup.Trees["harbor"]; rec.Complete {
		if err := restoreTree(ctx, env, j, "harbor", rec, j.InstallDir, true); err != nil {
			return err
		}
	} else if _, err := os.Lstat(j.InstallDir); errors.Is(err, fs.ErrNotExist) {
		// Moved by a rename a crash kept out of the journal.
		if err := os.Rename(filepath.Join(j.Dir(), "harbor"), j.InstallDir); err != nil {
			return fmt.Errorf("moving the install dir back: %w", err)
		}
	}
	failpoint("rollback:restore:mid")
	for _, name := range []string{"database", "secret"} {
		rec, ok := j.Backup.Trees[name]
		if !ok || !rec.Complete {
			continue // never copied: the upgrade did not get far enough to touch it
		}
		if err := restoreTree(ctx, env, j, name, rec, filepath.Join(j.DataVolume, name), false); err != nil {
			return err
		}
	}
	return restoreScanDBs(ctx, env, j)
}

// restoreTree makes target equal to the backup copy: left alone when it already matches,
// else the current one is kept as evidence and the copy restored and verified.
func restoreTree(ctx context.Context, env rollbackEnv, j *Journal, name string, rec TreeRecord, target string, ignoreRootTime bool) error {
	want, err := ReadTreeManifest(rec.Manifest, rec.SHA256)
	if err != nil {
		return err
	}
	opts := TreeDiffOptions{IgnoreTimes: ignoreRootTime}
	if _, err := os.Lstat(target); err == nil {
		if got, err := ScanTree(target); err == nil && len(DiffTrees(want, got, opts)) == 0 {
			fmt.Fprintf(env.log, "%s already matches the backup\n", target)
			return nil
		}
		evidence := uniquePath(filepath.Join(j.Dir(), "failed-data", name))
		if err := os.MkdirAll(filepath.Dir(evidence), 0o700); err != nil {
			return err
		}
		if err := moveDir(target, evidence); err != nil {
			return fmt.Errorf("setting the current %s aside: %w", target, err)
		}
		fmt.Fprintf(env.log, "kept the current %s as %s\n", target, evidence)
	}
	task := "restore " + name
	env.progress.Start(task, rec.Bytes)
	_, err = CopyTreeVerified(ctx, rec.Path, target, env.progress, task)
	env.progress.Done(task, err)
	if err != nil {
		return fmt.Errorf("restoring %s: %w", target, err)
	}
	got, err := ScanTree(target)
	if err != nil {
		return err
	}
	if d := DiffTrees(want, got, opts); len(d) > 0 {
		return fmt.Errorf("restored %s does not match the backup's checksums: %s", target, d[0])
	}
	fmt.Fprintf(env.log, "restored %s from %s (%d entries verified)\n", target, rec.Path, len(want.Entries))
	return nil
}

// moveDir renames, or copies and removes when src and dst are on different filesystems.
func moveDir(src, dst string) error {
	err := os.Rename(src, dst)
	if !errors.Is(err, syscall.EXDEV) {
		return err
	}
	if _, err := CopyTreeVerified(context.Background(), src, dst, nil, ""); err != nil {
		return err
	}
	return os.RemoveAll(src)
}

func uniquePath(p string) string {
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return p
	}
	for i := 2; ; i++ {
		q := fmt.Sprintf("%s-%d", p, i)
		if _, err := os.Lstat(q); errors.Is(err, fs.ErrNotExist) {
			return q
		}
	}
}

func installOld(ctx context.Context, env rollbackEnv, j *Journal) error {
	var missing []string
	ids, err := env.eng.ImageIDs(ctx, j.OldImages)
	if err != nil {
		return err
	}
	for _, ref := range j.OldImages {
		if ids[ref] == "" {
			missing = append(missing, ref)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the images of %s are missing: %s", j.From, strings.Join(missing, ", "))
	}
	return runInstallSh(ctx, j.InstallDir, j.OldInstallFlags, env.log)
}

func healthOld(ctx context.Context, env rollbackEnv, j *Journal) error {
	in := &Install{Dir: j.InstallDir, DataVolume: j.DataVolume, HTTPPort: j.HTTPPort, HTTPSPort: j.HTTPSPort}
	return healthWait{eng: env.eng, db: coreLogChecker{env.eng}, install: in, version: j.From, apiBase: j.OldAPIBase,
		timeout: env.timeout, interval: env.interval, out: env.out}.run(ctx)
}

// manualCommands are the shell commands that finish the rollback of j by hand.
func manualCommands(j *Journal) []string {
	b, dir, dv := j.Dir(), j.InstallDir, j.DataVolume
	cmds := []string{
		fmt.Sprintf("cd %s && docker-compose down   # if a docker-compose.yml is there", dir),
		fmt.Sprintf("mv %s %s/failed-harbor-manual   # if %s exists and is not %s", dir, b, dir, j.From),
		fmt.Sprintf("cp -a %s/harbor %s", b, dir),
	}
	for _, name := range []string{"database", "secret"} {
		if j.Backup.Trees[name].Complete {
			cmds = append(cmds, fmt.Sprintf("mv %s/%s %s/failed-%s-manual && cp -a %s/%s %s/%s", dv, name, b, name, b, name, dv, name))
		}
	}
	cmds = append(cmds,
		fmt.Sprintf("docker image inspect %s >/dev/null   # if missing: docker load -i harbor.%s.tar.gz from the %s offline installer", strings.Join(j.OldImages, " "), j.From, j.From),
		fmt.Sprintf("cd %s && ./install.sh %s", dir, strings.Join(j.OldInstallFlags, " ")),
	)
	return cmds
}
