package upgrade

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/harborbundle/bundle/internal/fakeharbor"
)

// killAt runs the .run and kills it (and everything it started: a power loss) at point: a
// failpoint name ("backup:mid"), or "<step>:running" to SIGKILL the process group from outside
// a second after the journal says the step started.
func killAt(t *testing.T, run, backup, point string) {
	t.Helper()
	cmd := exec.Command(run, "--yes", "--backup-dir", backup, "--health-timeout", "3m")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	step, external := strings.CutSuffix(point, ":running")
	if !external {
		cmd.Env = append(os.Environ(), FailpointEnv+"="+point)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if external {
		deadline := time.Now().Add(3 * time.Minute)
		for {
			if j, err := OpenJournal(backup); err == nil && j != nil && j.StepStatus(step) == StatusStarted {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("step %s never started:\n%s", step, out.String())
			}
			select {
			case err := <-done:
				t.Fatalf("the upgrade ended (%v) before step %s:\n%s", err, step, out.String())
			case <-time.After(50 * time.Millisecond):
			}
		}
		time.Sleep(time.Second)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	err := <-done
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the upgrade was not killed at %s (%v):\n%s", point, err, out.String())
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // whatever it left running
	j, err := OpenJournal(backup)
	if err != nil || j == nil {
		t.Fatalf("no open journal after the kill at %s: %v", point, err)
	}
	name, status := j.LastStep()
	t.Logf("killed at %s: journal says %s %s", point, name, status)
}

// crashCycle: kill at point, resume to a healthy 1.10.0, roll back to 1.9.4; kill at point
// again, roll back straight away. Each ends with the data intact.
func crashCycle(t *testing.T, h *fakeharbor.Harbor, run, backup, point string, before *hostState, seeded *fakeharbor.Seeded, cfg []byte) {
	ctx := context.Background()
	start := time.Now()
	killAt(t, run, backup, point)
	// A plain rerun explains and refuses; a different bundle refuses too.
	if r := runBundle(t, run, "--yes", "--backup-dir", backup); r.code != 2 || !strings.Contains(r.stderr, "--resume") {
		t.Errorf("rerun without --resume: %s", r)
	}
	src, ref := openRun(t, run)
	ref.ManifestSHA256 = strings.Repeat("0", 64)
	var oj *OpenJournalError
	if _, err := Prepare(ctx, Options{Bundle: src, BundleRef: ref, BackupDir: backup}); !errors.As(err, &oj) || !oj.Other {
		t.Errorf("another bundle with a journal open: %v", err)
	}
	if r := runBundle(t, run, "--yes", "--resume", "--backup-dir", backup, "--health-timeout", "3m"); r.code != 0 {
		t.Fatalf("resume after kill at %s: %s", point, r)
	}
	if err := h.WaitHealthy(ctx, "v1.10.0", time.Minute); err != nil {
		t.Fatalf("after resume: %v", err)
	}
	if err := h.CheckSeeded(ctx, seeded); err != nil {
		t.Errorf("data after resume: %v", err)
	}
	if r := runBundle(t, run, "rollback", "--yes", "--backup-dir", backup, "--health-timeout", "3m"); r.code != 0 {
		t.Fatalf("rollback of the resumed upgrade: %s", r)
	}
	assertRestored(t, h, before, seeded, cfg)
	t.Logf("%s: kill, resume, rollback in %s", point, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	killAt(t, run, backup, point)
	if r := runBundle(t, run, "rollback", "--yes", "--backup-dir", backup, "--health-timeout", "3m"); r.code != 0 {
		t.Fatalf("rollback after kill at %s: %s", point, r)
	}
	assertRestored(t, h, before, seeded, cfg)
	t.Logf("%s: kill, rollback in %s", point, time.Since(start).Round(time.Millisecond))
}

// crashMatrix runs crashCycle at each point on one fake 1.9.4.
func crashMatrix(t *testing.T, points []string) {
	run := bundleRun(t)
	ctx := context.Background()
	h := fakeharbor.Install(t, fakeharbor.InstallOptions{Version: "v1.9.4", Components: []string{"chartmuseum"}})
	seeded, err := h.Seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(filepath.Join(h.Dir, "harbor.yml"))
	before := snapshot(t, h)
	backup := filepath.Join(h.Parent, "backups")
	for _, p := range points {
		t.Run(strings.ReplaceAll(p, ":", "_"), func(t *testing.T) {
			crashCycle(t, h, run, backup, p, before, seeded, cfg)
		})
		if t.Failed() {
			return
		}
	}
}

// TestE2EKillDuringBackupAndInstall is the part of the kill -9 matrix that runs in make test;
// the whole matrix is TestE2EKillMatrix (build tag long).
func TestE2EKillDuringBackupAndInstall(t *testing.T) {
	crashMatrix(t, []string{"backup:mid", "install:running"})
}
