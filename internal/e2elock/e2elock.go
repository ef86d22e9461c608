// Package e2elock serialises the end-to-end tests that use the machine's Docker engine.
//
// Real Harbor's container names are fixed (harbor-core, harbor-db, nginx, ...) and its images
// carry fixed tags, so two test packages that install a (fake) Harbor at the same time would
// fight over them. `go test ./...` runs packages in parallel; every test that starts Harbor
// containers or loads Harbor images takes this machine-wide lock first.
package e2elock

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Path is the lock file shared by every package's end-to-end tests.
var Path = filepath.Join(os.TempDir(), "harbor-bundle-e2e.lock")

// Acquire blocks until this process holds the machine-wide Docker test lock and returns the
// function that releases it.
func Acquire() (release func(), err error) {
	f, err := os.OpenFile(Path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// Lock takes the lock for the rest of test t (released in t.Cleanup). It logs how long it
// waited, so that a test's time can be told from the time other packages held the lock.
func Lock(t testing.TB) {
	t.Helper()
	start := time.Now()
	release, err := Acquire()
	if err != nil {
		t.Fatalf("taking the docker e2e lock %s: %v", Path, err)
	}
	t.Logf("e2e lock taken after %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(release)
}
