package upgrade

import (
	"context"
	"errors"
	"fmt"
	"github.com/harborbundle/bundle/internal/atomicfile"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/harborbundle/bundle/progress"
)

// stop brings the old Harbor down. Never `down -v`: Harbor's data is in bind mounts, but a
// named volume someone added would be lost.
func (u *Upgrade) stop(ctx context.Context) error {
	dir := u.journal.InstallDir
	if u.journal.Backup.Trees["harbor"].Complete {
		return nil // the install dir is in the backup already: stopped long ago
	}
	if err := u.recordCounts(ctx); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "docker-compose.yml")); err == nil {
		if err := u.o.Engine.Compose(ctx, u.journal.ComposeOld, dir, "down"); err != nil {
			return fmt.Errorf("stopping Harbor with %s: %w", u.journal.ComposeOld.Name(), err)
		}
	}
	return ensureStopped(ctx, u.o.Engine, dir)
}

// recordCounts journals the old Harbor's projects and repositories just before the stop (once:
// a resumed stop may find Harbor half down). When they cannot be read now, the plan's reading
// stands; when neither could, the journal says why and the check after health only logs.
func (u *Upgrade) recordCounts(ctx context.Context) error {
	j := u.journal
	if j.CountsBefore != nil || j.CountsUnknown != "" {
		return nil
	}
	in := &Install{Dir: j.InstallDir}
	if cs, err := u.o.Engine.Containers(ctx, LabelWorkingDir+"="+j.InstallDir); err == nil {
		in.Containers = cs
	}
	c, why := countsBefore(ctx, u.o.Engine, in)
	if c == nil && u.plan != nil && u.plan.Counts != nil {
		c, why = u.plan.Counts, ""
		fmt.Fprintf(u.log, "counts: cannot read them again before the stop; the plan's stand\n")
	}
	j.CountsBefore, j.CountsUnknown = c, why
	fmt.Fprintf(u.log, "before the stop: %s %s\n", c, why)
	return j.Save()
}

// ensureStopped fails when a container of the install in dir still runs.
func ensureStopped(ctx context.Context, eng Engine, dir string) error {
	cs, err := eng.Containers(ctx, LabelWorkingDir+"="+dir)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.State == "running" || c.State == "restarting" {
			return fmt.Errorf("container %s of %s still runs after docker-compose down", c.Name, dir)
		}
	}
	return nil
}

// backup copies the database and secret trees, then moves the install dir, recording a
// checksum manifest of each into the backup. Each piece is skipped when the journal says it is
// complete, so a resumed backup continues where it died.
func (u *Upgrade) backup(ctx context.Context) error {
	j := u.journal
	if j.Backup.Trees == nil {
		j.Backup.Trees = map[string]TreeRecord{}
	}
	for _, name := range []string{"database", "secret"} {
		if j.Backup.Trees[name].Complete {
			continue
		}
		src := filepath.Join(j.DataVolume, name)
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) && name == "secret" {
			continue // 1.8 installs that never ran prepare with a secret dir
		} else if err != nil {
			return fmt.Errorf("backing up %s: %w", src, err)
		}
		if err := u.copyIntoBackup(ctx, name, src); err != nil {
			return err
		}
		if name == "database" {
			failpoint("backup:mid")
		}
	}
	if err := u.backupScanDBs(ctx); err != nil {
		return err
	}
	return u.moveInstallDir(ctx)
}

func (u *Upgrade) copyIntoBackup(ctx context.Context, name, src string) error {
	j := u.journal
	dst := filepath.Join(j.Dir(), name)
	if err := os.RemoveAll(dst); err != nil { // a copy the journal never marked complete: ours
		return err
	}
	total, _ := treeBytes(src)
	task := "backup " + name
	u.o.Progress.Start(task, total)
	m, err := CopyTreeVerified(ctx, src, dst, u.o.Progress, task)
	u.o.Progress.Done(task, err)
	if err != nil {
		return fmt.Errorf("backing up %s: %w", src, err)
	}
	return u.record(name, src, dst, m, false)
}

// record writes the tree manifest next to the copy and marks the tree complete in the journal.
func (u *Upgrade) record(name, src, dst string, m *TreeManifest, moved bool) error {
	j := u.journal
	mpath := filepath.Join(j.Dir(), name+".tree.json")
	sum, err := WriteTreeManifest(mpath, m)
	if err != nil {
		return err
	}
	j.Backup.Trees[name] = TreeRecord{Source: src, Path: dst, Manifest: mpath, SHA256: sum,
		Files: len(m.Entries), Bytes: m.Bytes(), Moved: moved, Complete: true}
	fmt.Fprintf(u.log, "backed up %s -> %s: %d entries, %d bytes, manifest sha256 %s\n", src, dst, len(m.Entries), m.Bytes(), sum)
	return j.Save()
}

// moveInstallDir is the guide's `mv harbor /my_backup_dir/harbor`: a rename when both are on
// one filesystem, else a verified copy and then removal of the source.
func (u *Upgrade) moveInstallDir(ctx context.Context) error {
	j := u.journal
	if j.Backup.Trees["harbor"].Complete {
		return nil
	}
	src, dst := j.InstallDir, filepath.Join(j.Dir(), "harbor")
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		// Renamed before a crash, not yet recorded: the manifest was written first.
		m, err := ReadTreeManifest(filepath.Join(j.Dir(), "harbor.tree.json"), "")
		if err != nil {
			return fmt.Errorf("the install dir %s is gone and the backup has no record of it: %w", src, err)
		}
		return u.record("harbor", src, dst, m, true)
	}
	m, err := ScanTree(src)
	if err != nil {
		return err
	}
	if _, err := WriteTreeManifest(filepath.Join(j.Dir(), "harbor.tree.json"), m); err != nil {
		return err
	}
	err = os.Rename(src, dst)
	if errors.Is(err, syscall.EXDEV) {
		if _, err := CopyTreeVerified(ctx, src, dst, u.o.Progress, "backup harbor"); err != nil {
			return err
		}
		if err := os.RemoveAll(src); err != nil { // verified copy in the backup: safe
			return fmt.Errorf("removing %s after copying it into the backup: %w", src, err)
		}
		return u.record("harbor", src, dst, m, false)
	}
	if err != nil {
		return fmt.Errorf("moving %s into the backup: %w", src, err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(src)); err != nil {
		return err
	}
	return u.record("harbor", src, dst, m, true)
}

// load streams the images the new install needs from the bundle into `docker load`, skipping
// those present with the right ID, then checks every one: install.sh must never reach for
// Docker Hub.
func (u *Upgrade) load(ctx context.Context) error {
	toLoad, _, total := u.imagesToLoad(ctx)
	if len(toLoad) > 0 {
		fmt.Fprintf(u.log, "loading %d images: %s\n", len(toLoad), strings.Join(toLoad, " "))
		task := "load images"
		u.o.Progress.Start(task, total)
		err := streamLoad(ctx, u.o.Bundle, u.o.Engine, toLoad, progress.Writer{R: u.o.Progress, Task: task})
		u.o.Progress.Done(task, err)
		if err != nil {
			return fmt.Errorf("loading images: %w", err)
		}
	}
	return u.checkImages(ctx)
}

// checkImages confirms each needed image is present with the config digest of the bundle.
func (u *Upgrade) checkImages(ctx context.Context) error {
	var bad []string
	ids, err := u.o.Engine.ImageIDs(ctx, u.neededRefs())
	if err != nil {
		return err
	}
	for _, img := range u.needed {
		id := ids[img.Ref]
		if id != img.ConfigDigest {
			if id == "" {
				id = "missing"
			}
			bad = append(bad, fmt.Sprintf("%s is %s, expected %s", img.Ref, id, img.ConfigDigest))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("images not as the bundle carries them after loading: %s", strings.Join(bad, "; "))
	}
	return nil
}
