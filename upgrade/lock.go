package upgrade

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockName is the lock file in the backup directory. Every upgrade, rollback and resume holds
// it, so two of them can never work on one host at the same time.
const LockName = ".lock"

// LockedError means another upgrade or rollback holds the lock.
type LockedError struct {
	Path string
	PID  int // the holder's pid as it wrote it, 0 when unknown
}

func (e *LockedError) Error() string {
	who := "another upgrade or rollback"
	if e.PID > 0 {
		who = fmt.Sprintf("%s (pid %d)", who, e.PID)
	}
	return fmt.Sprintf("%s is running (lock %s held); wait for it to finish, then run again", who, e.Path)
}

// ExitCode: refused before any change.
func (e *LockedError) ExitCode() int { return 2 }

// Lock is a held flock on <backup-dir>/.lock. The kernel releases it when the process dies, so
// a crash never leaves a stale lock behind.
type Lock struct{ f *os.File }

// AcquireLock takes the lock without waiting; *LockedError when someone else holds it.
func AcquireLock(backupDir string) (*Lock, error) {
	path := filepath.Join(backupDir, LockName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Path: path, PID: lockHolder(path)}
		}
		return nil, fmt.Errorf("taking lock %s: %w", path, err)
	}
	// The pid is only a hint for the message above; the flock is the lock.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// CheckLock reports whether the lock is free without creating anything (for --dry-run).
func CheckLock(backupDir string) error {
	path := filepath.Join(backupDir, LockName)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening lock: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return &LockedError{Path: path, PID: lockHolder(path)}
		}
		return fmt.Errorf("checking lock %s: %w", path, err)
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}

// Release drops the lock. Safe on nil.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}

func lockHolder(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}
