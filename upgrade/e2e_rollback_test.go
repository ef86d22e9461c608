package upgrade

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/selfextract"
)

// openRun opens the .run in process, as the .run itself does.
func openRun(t testing.TB, run string) (Source, BundleRef) {
	t.Helper()
	b, err := selfextract.Open(run)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	pr, err := b.OpenPayload()
	if err != nil {
		t.Fatal(err)
	}
	return pr, BundleRef{Path: run, Release: pr.Manifest().Release, ManifestSHA256: hex.EncodeToString(b.Trailer.ManifestSHA256[:])}
}

// brokenInstaller replaces one installer file of the bundle: the failure is in what the
// bundle ships, everything else is real.
type brokenInstaller struct {
	Source
	path    string
	content string
}

func (b brokenInstaller) OpenEntry(path string) (io.ReadCloser, error) {
	if path == b.path {
		return io.NopCloser(strings.NewReader(b.content)), nil
	}
	return b.Source.OpenEntry(path)
}

// migratorTweak changes how the real migrator is run (arguments or mounts): the real
// migrator then fails, or silently does nothing, exactly as it does for users.
type migratorTweak struct {
	Engine
	tweak func(*RunSpec)
}

func (m migratorTweak) Run(ctx context.Context, s RunSpec) error {
	if strings.Contains(s.Image, "harbor-migrator") {
		m.tweak(&s)
	}
	return m.Engine.Run(ctx, s)
}

// restoredState compares the host after a rollback with before the upgrade.
func assertRestored(t *testing.T, h *fakeharbor.Harbor, before *hostState, seeded *fakeharbor.Seeded, cfg []byte) {
	t.Helper()
	ctx := context.Background()
	if err := h.WaitHealthy(ctx, "v1.9.4", time.Minute); err != nil {
		t.Fatalf("not back on a healthy v1.9.4: %v", err)
	}
	if err := h.CheckSeeded(ctx, seeded); err != nil {
		t.Errorf("data after rollback: %v", err)
	}
	after := snapshot(t, h)
	for _, x := range []struct {
		name string
		a, b *TreeManifest
	}{{"database", before.database, after.database}, {"secret", before.secret, after.secret}} {
		if d := DiffTrees(x.a, x.b, TreeDiffOptions{}); len(d) > 0 {
			t.Errorf("%s after rollback differs from before the upgrade: %s", x.name, strings.Join(d, "\n  "))
		}
	}
	// install.sh regenerates common/config and docker-compose.yml on every run (as the real
	// prepare does); everything else in the install dir must be as it was.
	if d := DiffTrees(withoutGenerated(before.installDir), withoutGenerated(after.installDir), TreeDiffOptions{}); len(d) > 0 {
		t.Errorf("install dir after rollback differs: %s", strings.Join(d, "\n  "))
	}
	now, _ := os.ReadFile(filepath.Join(h.Dir, "harbor.yml"))
	if !bytes.Equal(now, cfg) {
		t.Errorf("harbor.yml after rollback differs:\n%s", now)
	}
}

func withoutGenerated(m *TreeManifest) *TreeManifest {
	out := &TreeManifest{}
	for _, e := range m.Entries {
		if e.Path == "." || e.Path == "common" || strings.HasPrefix(e.Path, "common/") || e.Path == "docker-compose.yml" {
			continue
		}
		out.Entries = append(out.Entries, e)
	}
	return out
}

func setSchemaState(t *testing.T, dv, state string) {
	t.Helper()
	p := filepath.Join(dv, "database", "schema_migrations.json")
	if err := os.WriteFile(p, []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chown(p, 999, 999)
}

// TestE2EFailuresRollBack injects each failure the issue lists into an upgrade of one fake
// 1.9.4 (every rollback returns it to where the next case starts) and checks the automatic
// rollback: exit 1, healthy 1.9.4, database, secret, install dir and harbor.yml as before.
func TestE2EFailuresRollBack(t *testing.T) {
	run := bundleRun(t)
	src, ref := openRun(t, run)
	ctx := context.Background()
	h := fakeharbor.Install(t, fakeharbor.InstallOptions{Version: "v1.9.4", Components: []string{"clair"}})
	seeded, err := h.Seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(filepath.Join(h.Dir, "harbor.yml"))
	before := snapshot(t, h)
	backup := filepath.Join(h.Parent, "backups")
	real := NewDockerEngine(nil)

	cases := []struct {
		name   string
		step   string
		src    Source
		eng    Engine
		health time.Duration
		hook   func(step string)
	}{
		{name: "migrator exits non-zero", step: StepMigrate,
			eng: migratorTweak{real, func(s *RunSpec) { s.Args = []string{"--cfg", "sideways"} }}},
		{name: "migrator silently does nothing", step: StepMigrate,
			eng: migratorTweak{real, func(s *RunSpec) { s.Mounts[0].Container = "/harbor-migration/harbor.yml" }}},
		{name: "install.sh fails", step: StepInstall,
			src: brokenInstaller{src, "installer/install.sh", "#!/bin/bash\necho 'prepare base dir is set to /root' ; echo 'Error happened in config validation...' >&2; exit 1\n"}},
		{name: "new core leaves the database dirty", step: StepHealth, hook: func(step string) {
			if step == StepInstall { // as if the new core died mid-migration
				setSchemaState(t, h.DataVolume, `{"version":12,"dirty":true}`)
			}
		}},
		{name: "new core never healthy", step: StepHealth, health: 20 * time.Second, hook: func(step string) {
			if step == StepInstall { // a secretkey that cannot decrypt the stored credential
				os.WriteFile(filepath.Join(h.DataVolume, "secret", "keys", "secretkey"), []byte("0123456789abcdef"), 0o600)
			}
		}},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			o := Options{Bundle: c.src, BundleRef: ref, Engine: c.eng, BackupDir: backup, HealthTimeout: c.health,
				Out: testWriter{t}, HealthInterval: time.Second}
			if o.Bundle == nil {
				o.Bundle = src
			}
			if o.HealthTimeout == 0 {
				o.HealthTimeout = 3 * time.Minute
			}
			start := time.Now()
			u, err := Prepare(ctx, o)
			if err != nil {
				t.Fatalf("prepare: %v", err)
			}
			u.beforeStep = c.hook
			_, err = u.Execute(ctx)
			u.Close()
			t.Logf("%s: failed and rolled back in %s", c.name, time.Since(start).Round(time.Millisecond))
			var fe *FailedError
			if !errors.As(err, &fe) || !fe.RolledBack || fe.Step != c.step || fe.ExitCode() != 1 {
				t.Fatalf("want a rolled-back failure at %s, got %v", c.step, err)
			}
			if !strings.Contains(err.Error(), "failed-harbor") || !strings.Contains(err.Error(), LogName) {
				t.Errorf("summary lacks evidence and log paths: %v", err)
			}
			if fe.Journal.State != StateRolledBack {
				t.Errorf("journal state %s", fe.Journal.State)
			}
			assertRestored(t, h, before, seeded, cfg)
		})
		if t.Failed() {
			return
		}
	}
	t.Run("rollback_fails_too", func(t *testing.T) { rollbackFails(t, h, src, ref, backup, before, seeded, cfg) })
}

// rollbackFails: the upgrade fails, and so does its rollback because an old image was removed
// by hand meanwhile. Exit 3, the exact commands to finish by hand; with the image back,
// `rollback` finishes the job.
func rollbackFails(t *testing.T, h *fakeharbor.Harbor, src Source, ref BundleRef, backup string, before *hostState, seeded *fakeharbor.Seeded, cfg []byte) {
	ctx := context.Background()
	const victim = "goharbor/harbor-log:v1.9.4"
	keep := "bundle-test/upgrade-keep:harbor-log-" + time.Now().Format("150405")
	if out, err := exec.Command("docker", "tag", victim, keep).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	defer exec.Command("docker", "image", "rm", keep).Run()
	o := Options{Bundle: brokenInstaller{src, "installer/install.sh", "#!/bin/bash\nexit 1\n"}, BundleRef: ref,
		BackupDir: backup, HealthTimeout: 2 * time.Minute, HealthInterval: time.Second, Out: testWriter{t}}
	u, err := Prepare(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	u.beforeStep = func(step string) {
		if step == StepInstall { // the old Harbor is down: its image can go
			if out, err := exec.Command("docker", "image", "rm", victim).CombinedOutput(); err != nil {
				t.Errorf("removing %s: %v %s", victim, err, out)
			}
		}
	}
	_, err = u.Execute(ctx)
	u.Close()
	var rf *RollbackFailedError
	if !errors.As(err, &rf) || rf.ExitCode() != 3 {
		t.Fatalf("want exit 3, got %v", err)
	}
	msg := err.Error()
	j := readLatestJournal(t, backup)
	for _, want := range []string{victim, "docker load -i harbor.v1.9.4.tar.gz", "cp -a " + filepath.Join(j.Dir(), "harbor") + " " + h.Dir,
		"cd " + h.Dir + " && ./install.sh --with-clair"} {
		if !strings.Contains(msg, want) {
			t.Errorf("manual commands lack %q:\n%s", want, msg)
		}
	}
	if j.State != StateRollbackFailed {
		t.Errorf("journal state %s", j.State)
	}
	if out, err := exec.Command("docker", "tag", keep, victim).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	res, err := Rollback(ctx, RollbackOptions{BackupDir: backup, Out: testWriter{t}, HealthTimeout: 2 * time.Minute, HealthInterval: time.Second})
	if err != nil {
		t.Fatalf("rollback after putting the image back: %v", err)
	}
	if res.State != StateRolledBack {
		t.Errorf("state %s", res.State)
	}
	assertRestored(t, h, before, seeded, cfg)
}

func readLatestJournal(t *testing.T, backup string) *Journal {
	t.Helper()
	js, err := Journals(backup)
	if err != nil || len(js) == 0 {
		t.Fatalf("journals: %v", err)
	}
	return js[len(js)-1]
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
