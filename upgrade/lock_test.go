package upgrade

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLockRefusesSecondHolder(t *testing.T) {
	dir := t.TempDir()
	l, err := AcquireLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to open file descriptions: a second open in this process conflicts
	// exactly like another process would.
	_, err = AcquireLock(dir)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second AcquireLock: %v, want *LockedError", err)
	}
	if le.PID != os.Getpid() || le.ExitCode() != 2 || !strings.Contains(le.Error(), "is running") {
		t.Errorf("lock error %+v: %v", le, le)
	}
	if err := CheckLock(dir); !errors.As(err, &le) {
		t.Errorf("CheckLock while held: %v", err)
	}
	l.Release()
	l.Release() // twice is harmless
	if err := CheckLock(dir); err != nil {
		t.Errorf("CheckLock after release: %v", err)
	}
	l2, err := AcquireLock(dir)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Release()
}

func TestCheckLockCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	if err := CheckLock(dir); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("CheckLock created %v", ents)
	}
}

// The kernel drops a flock when its holder dies: a killed upgrade leaves no stale lock.
func TestLockHeldByAnotherProcessAndFreedOnDeath(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("flock", "-x", "-o", dir+"/"+LockName, "sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting flock(1): %v", err)
	}
	// flock -o runs sleep as its child without the lock: kill the whole group.
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	var le *LockedError
	deadline := time.Now().Add(10 * time.Second)
	for !errors.As(CheckLock(dir), &le) {
		if time.Now().After(deadline) {
			t.Fatal("the other process never took the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := AcquireLock(dir); !errors.As(err, &le) {
		t.Fatalf("AcquireLock while another process holds it: %v", err)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	var l *Lock
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if l, err = AcquireLock(dir); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("lock not freed by the holder's death: %v", err)
	}
	l.Release()
}
