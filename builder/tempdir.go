package builder

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// lockedTempDir creates a private directory under parent together with a lock file held with
// flock for as long as the process keeps it open. The kernel drops the lock when the process
// dies, even by kill -9, which is how sweepTemp tells abandoned temp dirs from live ones.
func lockedTempDir(parent string) (string, *os.File, error) {
	dir, err := os.MkdirTemp(parent, "build-")
	if err != nil {
		return "", nil, err
	}
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, lock, nil
}

// sweepTemp removes the temp dirs of builds that are no longer running (their lock is free):
// partial downloads of a killed build are useless, since blobs are fetched whole.
func sweepTemp(parent string) {
	locks, _ := filepath.Glob(filepath.Join(parent, "build-*.lock"))
	for _, l := range locks {
		f, err := os.OpenFile(l, os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			os.RemoveAll(strings.TrimSuffix(l, ".lock"))
			os.Remove(l)
		}
		f.Close()
	}
}
