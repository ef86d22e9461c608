package upgrade

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	step, external := strings.CutSuffix(point, ":running")
	started := func(j *Journal) bool { return j.StepStatus(step) == StatusStarted }
	if !external {
		started = nil
	}
	killed(t, point, started, run, "--yes", "--backup-dir", backup, "--health-timeout", "3m")
}

// killRollbackAt runs `rollback` and lets it kill itself at the failpoint point
// ("rollback:restore:mid").
func killRollbackAt(t *testing.T, run, backup, point string) {
	t.Helper()
	killed(t, point, nil, run, "rollback", "--yes", "--backup-dir", backup, "--health-timeout", "3m")
}

// killed runs the .run with args until it dies of SIGKILL at point: its own failpoint when
// started is nil, else from outside a second after started says the journal got there. It
// fails the test unless the process was killed and left an open journal.
func killed(t *testing.T, point string, started func(*Journal) bool, run string, args ...string) {
	t.Helper()
	backup := args[slices.Index(args, "--backup-dir")+1]
	cmd := exec.Command(run, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if started == nil {
		cmd.Env = append(os.Environ(), failpointEnvName+"="+point)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if started != nil {
		deadline := time.Now().Add(3 * time.Minute)
		for {
			if j, err := OpenJournal(backup); err == nil && j != nil && started(j) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never reached:\n%s", point, out.String())
			}
			select {
			case err := <-done:
				t.Fatalf("the run ended (%v) before %s:\n%s", err, point, out.String())
			case <-time.After(50 * time.Millisecond):
			}
		}
		time.Sleep(time.Second)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	err := <-done
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("%s %s was not killed at %s (%v):\n%s", filepath.Base(run), args[0], point, err, out.String())
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // whatever it left running
	j, err := OpenJournal(backup)
	if err != nil || j == nil {
		t.Fatalf("no open journal after the kill at %s: %v", point, err)
	}
	name, status := j.LastStep()
	t.Logf("killed at %s: journal says state %s, step %s %s, %d rollback steps", point, j.State, name, status, len(j.Rollback))
}

// crashCycle: kill at point, resume to a healthy 1.10.0, roll back to 1.9.4 (killing that
// rollback at rollbackPoint first when it is not ""); kill at point again, roll back straight
// away. Each ends with the data intact.
func crashCycle(t *testing.T, h *fakeharbor.Harbor, run, backup, point, rollbackPoint string, before *hostState, seeded *fakeharbor.Seeded, cfg []byte) {
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
	if rollbackPoint != "" {
		t.Run(strings.ReplaceAll(rollbackPoint, ":", "_"), func(t *testing.T) {
			killedRollback(t, h, run, backup, rollbackPoint, before, seeded, cfg)
		})
		if t.Failed() {
			return
		}
	} else if r := runBundle(t, run, "rollback", "--yes", "--backup-dir", backup, "--health-timeout", "3m"); r.code != 0 {
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

// upgradeKillPoints are every kill point of the upgrade: after each step's work (the journal
// not yet told: the hardest moment), in the middle of the backup and of install.sh, and with the
// new Harbor started but not yet checked.
var upgradeKillPoints = []string{"stop:end", "backup:mid", "backup:end", "load:end", "migrate:end",
	"install:running", "install:end", "health:begin"}

// rollbackKillPoints are the kill points of the rollback, one in each of its steps.
var rollbackKillPoints = []string{"rollback:stop-new:end", "rollback:restore:mid", "rollback:install-old:end", "rollback:health-old:begin"}

// TestE2EKillMatrix kills, on one fake 1.9.4, the upgrader at each of its kill points in turn
// (each time a resume finishes the upgrade and a rollback, also straight after a second kill,
// restores it). The rollback of each of the first resumed upgrades is itself killed, at each of
// the rollback's kill points in turn (killedRollback): `status` shows the interrupted rollback
// and says to run rollback, --resume refuses, and the next `rollback` finishes it. (Killing the
// rollback of a resumed upgrade, rather than of a second upgrade interrupted with the new Harbor
// running, saves an upgrade per rollback point under the e2e lock; the rollback runs the same
// steps, and the rollback of an interrupted upgrade is each point's second half.) Every cycle
// ends on a healthy 1.9.4 with its database and secret trees byte-identical to before the
// upgrade.
func TestE2EKillMatrix(t *testing.T) {
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
	if len(rollbackKillPoints) > len(upgradeKillPoints) {
		t.Fatalf("%d rollback kill points, only %d upgrades to kill their rollbacks in", len(rollbackKillPoints), len(upgradeKillPoints))
	}
	for i, p := range upgradeKillPoints {
		rp := ""
		if i < len(rollbackKillPoints) {
			rp = rollbackKillPoints[i]
		}
		t.Run(strings.ReplaceAll(p, ":", "_"), func(t *testing.T) {
			crashCycle(t, h, run, backup, p, rp, before, seeded, cfg)
		})
		if t.Failed() {
			return
		}
	}
}

// killedRollback, on the upgraded Harbor (1.10.0 healthy, journal open or done), kills the
// rollback at point p ("rollback:restore:mid"), checks what the journal, `status`, --resume and
// a new upgrade say of the interrupted rollback, then lets `rollback` finish it.
func killedRollback(t *testing.T, h *fakeharbor.Harbor, run, backup, p string, before *hostState, seeded *fakeharbor.Seeded, cfg []byte) {
	start := time.Now()
	killRollbackAt(t, run, backup, p)
	step := strings.Split(p, ":")[1]
	j, err := OpenJournal(backup)
	if err != nil || j == nil {
		t.Fatalf("open journal: %v", err)
	}
	if n := len(j.Rollback); j.State != StateRollingBack || n == 0 || j.Rollback[n-1].Name != step || j.Rollback[n-1].Status != StatusStarted {
		t.Errorf("journal after the kill at %s: state %s, rollback %+v", p, j.State, j.Rollback)
	}
	st := runBundle(t, run, "status", "--backup-dir", backup)
	for _, want := range []string{"rollback " + step, "rollback of upgrade " + j.ID + " (Harbor v1.9.4 -> v1.10.0) was interrupted at step " + step,
		"Run `rollback --backup " + j.ID + "`"} {
		if st.code != 0 || !strings.Contains(st.stdout, want) {
			t.Errorf("status lacks %q: %s", want, st)
		}
	}
	if r := runBundle(t, run, "--yes", "--resume", "--backup-dir", backup); r.code != 2 || !strings.Contains(r.stderr, "rollback --backup "+j.ID) {
		t.Errorf("--resume during an interrupted rollback: %s", r)
	}
	if r := runBundle(t, run, "--yes", "--backup-dir", backup); r.code != 2 || !strings.Contains(r.stderr, "Run `rollback --backup "+j.ID+"` to finish it") || strings.Contains(r.stderr, "--resume") {
		t.Errorf("a new upgrade during an interrupted rollback: %s", r)
	}
	if r := runBundle(t, run, "rollback", "--yes", "--backup-dir", backup, "--health-timeout", "3m"); r.code != 0 {
		t.Fatalf("rollback after the kill at %s: %s", p, r)
	}
	assertRestored(t, h, before, seeded, cfg)
	if j, _ := ReadJournal(j.Dir()); j == nil || j.State != StateRolledBack {
		t.Errorf("journal after the finished rollback: %+v", j)
	}
	t.Logf("%s: kill the rollback, rollback in %s", p, time.Since(start).Round(time.Millisecond))
}
