package upgrade

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/progress"
)

// mountTmpfs mounts a tmpfs of size ("16m") under a new temporary directory, unmounted when
// the test ends.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a %s tmpfs on %s: %v %s", size, dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("unmounting %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fillTo writes a file under dir until only leave bytes are free on its filesystem.
func fillTo(t *testing.T, dir string, leave int64) {
	t.Helper()
	free, err := freeBytes(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.CopyN(f, zeros{}, free-leave); err != nil {
		t.Fatalf("filling %s: %v", dir, err)
	}
	now, _ := freeBytes(dir)
	t.Logf("filled %s: %s free", dir, progress.HumanBytes(now))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// withInstallerFile is the bundle with one more installer file of size bytes, as the real
// offline installer's harbor.vX.tar.gz: a new install dir bigger than the old one.
type withInstallerFile struct {
	Source
	m    *payload.Manifest
	path string
	size int64
}

func newWithInstallerFile(src Source, path string, size int64) withInstallerFile {
	m := *src.Manifest()
	m.Entries = append(slices.Clone(m.Entries), payload.Entry{Path: path, Size: size, Mode: 0o644})
	return withInstallerFile{Source: src, m: &m, path: path, size: size}
}

func (w withInstallerFile) Manifest() *payload.Manifest { return w.m }

func (w withInstallerFile) OpenEntry(path string) (io.ReadCloser, error) {
	if path == w.path {
		return io.NopCloser(io.LimitReader(zeros{}, w.size)), nil
	}
	return w.Source.OpenEntry(path)
}

// TestE2EDiskFull fills, during the upgrade, the backup filesystem (a tmpfs as --backup-dir,
// filled once preflight passed, so the database copy runs out of space half way) and the
// install dir's filesystem (the fake Harbor lives on a small tmpfs, and the new install dir
// is bigger than what is free there). Each time the upgrade fails cleanly: exit status 1,
// one line naming the filesystem's mount point and the space the step needs, rolled back to a
// healthy 1.9.4 with its data as before.
func TestE2EDiskFull(t *testing.T) {
	run := bundleRun(t)
	src, ref := openRun(t, run)
	ctx := context.Background()
	installFS := mountTmpfs(t, "16m") // before Install: unmounted after the fake Harbor is removed
	h := fakeharbor.Install(t, fakeharbor.InstallOptions{Version: "v1.9.4", Parent: filepath.Join(installFS, "ws")})
	seeded, err := h.Seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A sized seed: 1 MiB more in the database, more than the full backup filesystem leaves.
	table := filepath.Join(h.DataVolume, "database", "big-table.dat")
	data := make([]byte, 1<<20)
	rand.Read(data)
	if err := os.WriteFile(table, data, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chown(table, 999, 999)
	cfg, _ := os.ReadFile(filepath.Join(h.Dir, "harbor.yml"))
	before := snapshot(t, h)

	upgradeFull := func(t *testing.T, o Options, hook func(string), step, mount string, need int64) {
		t.Helper()
		o.BundleRef, o.Out, o.HealthTimeout, o.HealthInterval = ref, testWriter{t}, 3*time.Minute, time.Second
		start := time.Now()
		u, err := Prepare(ctx, o)
		if err != nil {
			t.Fatalf("prepare (the space checks must pass): %v", err)
		}
		u.beforeStep = hook
		_, err = u.Execute(ctx)
		u.Close()
		t.Logf("failed and rolled back in %s: %v", time.Since(start).Round(time.Millisecond), err)
		var fe *FailedError
		if !errors.As(err, &fe) || !fe.RolledBack || fe.Step != step || fe.ExitCode() != 1 {
			t.Fatalf("want a rolled-back failure at %s, got %v", step, err)
		}
		var ns *NoSpaceError
		msg := err.Error()
		if !errors.As(err, &ns) || ns.Mount != mount || strings.Contains(msg, "\n") ||
			!strings.Contains(msg, "filesystem mounted at "+mount) || !strings.Contains(msg, "needs "+progress.HumanBytes(need)) {
			t.Errorf("want one line naming %s and the %s needed, got %q", mount, progress.HumanBytes(need), msg)
		}
		if fe.Journal.State != StateRolledBack {
			t.Errorf("journal state %s", fe.Journal.State)
		}
		assertRestored(t, h, before, seeded, cfg)
	}

	t.Run("backup_filesystem_full", func(t *testing.T) {
		backupFS := mountTmpfs(t, "20m") // room for preflight's 16 MiB margin
		need := treeSize(t, filepath.Join(h.DataVolume, "database")) + treeSize(t, filepath.Join(h.DataVolume, "secret")) + treeSize(t, h.Dir)
		upgradeFull(t, Options{Bundle: src, BackupDir: filepath.Join(backupFS, "backups")}, func(step string) {
			if step == StepBackup { // preflight passed; now something else takes the space
				fillTo(t, backupFS, 256<<10)
			}
		}, StepBackup, backupFS, need)
	})
	t.Run("install_filesystem_full", func(t *testing.T) {
		const size = 24 << 20 // more than the whole 16 MiB install filesystem
		bundle := newWithInstallerFile(src, "installer/harbor.v1.10.0.tar.gz", size)
		var need int64
		for _, e := range bundle.Manifest().Entries {
			if strings.HasPrefix(e.Path, "installer/") {
				need += e.Size
			}
		}
		need += 2 * int64(len(cfg))
		upgradeFull(t, Options{Bundle: bundle, BackupDir: filepath.Join(t.TempDir(), "backups")}, nil, StepMigrate, installFS, need)
	})
}

func treeSize(t *testing.T, dir string) int64 {
	t.Helper()
	n, err := treeBytes(dir)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
