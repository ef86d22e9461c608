package upgrade

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/harborbundle/bundle/progress"
	"golang.org/x/sys/unix"
)

// NoSpaceError is a step that ran out of space on a filesystem: the message names the
// filesystem by its mount point and says how much the step needs there, so the administrator
// knows what to free (the raw ENOSPC names only the file being written).
type NoSpaceError struct {
	Step  string
	Path  string // the file whose write failed
	Mount string // the mount point of the filesystem holding Path
	Need  int64  // what the step writes on that filesystem (0: unknown)
	Free  int64  // free now, for root
	Err   error
}

func (e *NoSpaceError) Error() string {
	need := ""
	if e.Need > 0 {
		need = fmt.Sprintf(", it needs %s there", progress.HumanBytes(e.Need))
	}
	return fmt.Sprintf("no space left on the filesystem mounted at %s (writing %s): the %s step ran out of space%s, %s is free; free space on %s and run again",
		e.Mount, e.Path, e.Step, need, progress.HumanBytes(e.Free), e.Mount)
}
func (e *NoSpaceError) Unwrap() error { return e.Err }

// explainNoSpace turns a step's ENOSPC (or EDQUOT) into a NoSpaceError; other errors pass.
func (u *Upgrade) explainNoSpace(step string, err error) error {
	var ns *NoSpaceError
	if err == nil || errors.As(err, &ns) || !(errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)) {
		return err
	}
	path := failedPath(err)
	if path == "" {
		return err
	}
	e := &NoSpaceError{Step: step, Path: path, Mount: mountPoint(path), Err: err}
	e.Free, _ = freeBytes(path)
	e.Need = u.spaceNeeded(step, e.Mount)
	return e
}

// failedPath is the file named by the innermost path error in err.
func failedPath(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Path
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.New
	}
	return ""
}

// mountPoint is the top directory of the filesystem holding path (or its nearest existing
// parent): the highest ancestor on the same device.
func mountPoint(path string) string {
	p := filepath.Clean(path)
	var st unix.Stat_t
	for unix.Stat(p, &st) != nil {
		if p == filepath.Dir(p) {
			return p
		}
		p = filepath.Dir(p)
	}
	for p != filepath.Dir(p) {
		var parent unix.Stat_t
		if unix.Stat(filepath.Dir(p), &parent) != nil || parent.Dev != st.Dev {
			break
		}
		p = filepath.Dir(p)
	}
	return p
}

// spaceNeeded is what step writes on the filesystem mounted at mount: the backup its copies,
// migrate the new install dir.
func (u *Upgrade) spaceNeeded(step, mount string) int64 {
	j := u.journal
	on := func(p string) bool { return mountPoint(p) == mount }
	var n int64
	_, base := splitStepName(step) // a chain's "v2.4.3/migrate" writes what migrate writes
	switch base {
	case StepBackup:
		if !on(j.Dir()) {
			return 0
		}
		for _, name := range []string{"database", "secret"} {
			if !j.Backup.Trees[name].Complete {
				b, _ := treeBytes(filepath.Join(j.DataVolume, name))
				n += b
			}
		}
		if !j.Backup.Trees["harbor"].Complete && !sameFilesystem(j.InstallDir, j.Dir()) {
			b, _ := treeBytes(j.InstallDir)
			n += b
		}
	case StepMigrate:
		if !on(filepath.Dir(j.InstallDir)) {
			return 0
		}
		for _, e := range u.manifest.Entries {
			if strings.HasPrefix(e.Path, "installer/") {
				n += e.Size
			}
		}
		if st, err := os.Stat(filepath.Join(j.Dir(), "harbor", "harbor.yml")); err == nil {
			n += 2 * st.Size() // the copy and the migrated one
		}
	}
	return n
}
