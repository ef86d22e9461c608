package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/harborbundle/bundle/sign"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/harborbundle/bundle/selfextract"
	"github.com/harborbundle/bundle/upgrade"
	"github.com/spf13/pflag"
)

func TestUpgradeFlagsParse(t *testing.T) {
	f := &upgradeFlags{}
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	f.bind(fs)
	err := fs.Parse([]string{"--yes", "--dry-run", "-o", "json", "--harbor-dir", "/opt/harbor", "--backup-dir", "/b",
		"--components", "clair, notary", "--drop-components", "clair", "--health-timeout", "5m", "--no-rollback", "--resume", "-q"})
	if err != nil {
		t.Fatal(err)
	}
	if !f.yes || !f.dryRun || f.output != "json" || f.harborDir != "/opt/harbor" || f.backupDir != "/b" ||
		f.healthTimeout != 5*time.Minute || !f.noRollback || !f.resume || !f.quiet {
		t.Errorf("parsed %+v", f)
	}
	if got := splitList(f.components); !reflect.DeepEqual(got, []string{"clair", "notary"}) {
		t.Errorf("components %v", got)
	}
	if got := splitList(f.dropComponents); !reflect.DeepEqual(got, []string{"clair"}) {
		t.Errorf("drop-components %v", got)
	}
	d := &upgradeFlags{}
	fs = pflag.NewFlagSet("x", pflag.ContinueOnError)
	d.bind(fs)
	fs.Parse(nil)
	if d.backupDir != upgrade.DefaultBackupDir || d.healthTimeout != upgrade.DefaultHealthTimeout || d.yes || d.output != "text" {
		t.Errorf("defaults %+v", d)
	}
}

// runAsBundle runs the .run's command line with a stand-in attached bundle (these verbs read
// only the journal).
func runAsBundle(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	saved := openSelf
	openSelf = func() (*selfextract.Bundle, error) { return &selfextract.Bundle{Path: "x.run"}, nil }
	defer func() { openSelf = saved }()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestStatusAndRollbackWithoutBackups(t *testing.T) {
	dir := t.TempDir()
	code, out, _ := runAsBundle(t, "status", "--backup-dir", dir)
	if code != 0 || !strings.Contains(out, "No upgrade recorded") {
		t.Errorf("status: %d %q", code, out)
	}
	code, out, _ = runAsBundle(t, "status", "--backup-dir", dir, "-o", "json")
	var st map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st["backup_dir"] != dir {
		t.Errorf("status json: %d %q", code, out)
	}
	code, _, errs := runAsBundle(t, "rollback", "--yes", "--backup-dir", dir)
	if code != 2 || !strings.Contains(errs, "no upgrade to roll back") {
		t.Errorf("rollback: %d %q", code, errs)
	}
	code, _, errs = runAsBundle(t, "rollback", "--yes", "--backup-dir", dir, "--backup", "../etc")
	if code != 2 || !strings.Contains(errs, "--backup") {
		t.Errorf("rollback ../etc: %d %q", code, errs)
	}
}

func TestStatusShowsAnInterruptedUpgrade(t *testing.T) {
	dir := t.TempDir()
	id := "20261125-180000-v1.9.4-to-v1.10.0"
	os.Mkdir(filepath.Join(dir, id), 0o700)
	j := `{"id":"` + id + `","state":"running","from":"v1.9.4","to":"v1.10.0","install_dir":"/opt/harbor",
		"steps":[{"name":"stop","status":"done"},{"name":"backup","status":"started"}],"created":"2026-11-25T18:00:00Z"}`
	os.WriteFile(filepath.Join(dir, id, upgrade.JournalName), []byte(j), 0o600)
	code, out, _ := runAsBundle(t, "status", "--backup-dir", dir)
	for _, want := range []string{id, "state running", "backup   started", "--resume", "rollback --backup " + id, "never deleted automatically"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	// A rollback elsewhere than where the backup says refuses before asking.
	code, _, errs := runAsBundle(t, "rollback", "--backup-dir", dir, "--harbor-dir", "/srv/other")
	if code != 2 || !strings.Contains(errs, "/opt/harbor") {
		t.Errorf("rollback --harbor-dir mismatch: %d %q", code, errs)
	}
	// Off a terminal without --yes: refuses, nothing done.
	code, _, errs = runAsBundle(t, "rollback", "--backup-dir", dir)
	if code != 2 || !strings.Contains(errs, "--yes") {
		t.Errorf("rollback without --yes: %d %q", code, errs)
	}
}

func TestUpgradeRefusesUnprovenBundleBeforeAnything(t *testing.T) {
	pub, sec, _ := sign.GenerateKey("builder")
	otherPub, _, _ := sign.GenerateKey("someone else")
	dir := t.TempDir()
	pubPath, otherPath := filepath.Join(dir, "k.pub"), filepath.Join(dir, "o.pub")
	os.WriteFile(pubPath, pub.Marshal(), 0o644)
	os.WriteFile(otherPath, otherPub.Marshal(), 0o644)
	backups := filepath.Join(dir, "backups")
	unsigned := makeBundle(t, t.TempDir(), "keep")
	signed := makeSignedBundle(t, t.TempDir(), "keep", sec)
	for _, c := range []struct{ run, key, want string }{
		{unsigned, pubPath, "unsigned"},
		{signed, otherPath, "signed by key ID"},
	} {
		code, _, errOut := runFile(t, c.run, "--key", c.key, "--yes", "--backup-dir", backups, "--harbor-dir", filepath.Join(dir, "harbor"))
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%s with key %s: exit %d, %q (want 2, %q)", filepath.Base(c.run), filepath.Base(c.key), code, errOut, c.want)
		}
	}
	// Refused before anything: not even the backup dir was created.
	if _, err := os.Stat(backups); !os.IsNotExist(err) {
		t.Errorf("backup dir exists after a refusal: %v", err)
	}
	// Without a key an unsigned bundle goes on, with a visible warning.
	_, _, errOut := runFile(t, unsigned, "--dry-run", "--backup-dir", backups, "--harbor-dir", filepath.Join(dir, "harbor"))
	if !strings.Contains(errOut, "WARNING: this bundle is unsigned") {
		t.Errorf("no warning for an unsigned bundle: %q", errOut)
	}
}

// runInProcess runs the .run at path in this process (as its own binary would), with host
// configuration read under root.
func runInProcess(t *testing.T, path, root string, args ...string) (int, string, string) {
	t.Helper()
	savedOpen, savedRoot := openSelf, hostRoot
	openSelf = func() (*selfextract.Bundle, error) { return selfextract.Open(path) }
	hostRoot = root
	defer func() { openSelf, hostRoot = savedOpen, savedRoot }()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// TestDefaultTrustedKeyRefusesUnsigned: with the builder's key installed at the default path
// (/etc/harbor-bundle/trusted.pub, under a temporary root) and no --key, an unsigned bundle is
// refused (exit 2) before anything changes: no backup dir, the install dir as it was. The
// bundle signed by that key passes the signature check, naming the key file it used, and
// without the file the unsigned bundle only gets a warning: so it is the default path that
// decided.
func TestDefaultTrustedKeyRefusesUnsigned(t *testing.T) {
	pub, sec, err := sign.GenerateKey("builder")
	if err != nil {
		t.Fatal(err)
	}
	root, dir := t.TempDir(), t.TempDir()
	keyPath := filepath.Join(root, selfextract.TrustedKeyPath)
	harborDir, backups := filepath.Join(dir, "harbor"), filepath.Join(dir, "backups")
	os.MkdirAll(harborDir, 0o755)
	cfg := []byte("hostname: reg.example\n")
	os.WriteFile(filepath.Join(harborDir, "harbor.yml"), cfg, 0o644)
	unsigned := makeBundle(t, t.TempDir(), "keep")
	signed := makeSignedBundle(t, t.TempDir(), "keep", sec)
	args := []string{"--yes", "--backup-dir", backups, "--harbor-dir", harborDir}

	code, _, errOut := runInProcess(t, unsigned, root, args...)
	if !strings.Contains(errOut, "WARNING: this bundle is unsigned") || !strings.Contains(errOut, "Verifying") {
		t.Errorf("no key installed: exit %d, %q (want the unsigned warning, then the upgrade going on)", code, errOut)
	}
	os.RemoveAll(backups) // that run went on to detect (and refuse) the empty install dir

	if err := os.MkdirAll(filepath.Dir(keyPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pub.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runInProcess(t, unsigned, root, args...)
	if code != 2 || !strings.Contains(errOut, "unsigned") || strings.Contains(errOut, "WARNING") || strings.Contains(errOut, "Verifying") {
		t.Errorf("unsigned bundle with %s installed: exit %d, %q (want 2, refused as unsigned)", keyPath, code, errOut)
	}
	if _, err := os.Stat(backups); !os.IsNotExist(err) {
		t.Errorf("the refusal created the backup dir: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(harborDir, "harbor.yml")); err != nil || !bytes.Equal(got, cfg) {
		t.Errorf("the refusal changed the install dir: %q %v", got, err)
	}
	if es, _ := os.ReadDir(harborDir); len(es) != 1 {
		t.Errorf("the refusal added files to the install dir: %v", es)
	}

	_, _, errOut = runInProcess(t, signed, root, append(args, "--dry-run")...)
	if !strings.Contains(errOut, "Signature: valid") || !strings.Contains(errOut, keyPath) {
		t.Errorf("signed bundle with %s installed: %q (want a valid signature from that file)", keyPath, errOut)
	}
}

func TestStatusShowsAnInterruptedRollback(t *testing.T) {
	dir := t.TempDir()
	id := "20261125-180000-v1.9.4-to-v1.10.0"
	os.Mkdir(filepath.Join(dir, id), 0o700)
	j := `{"id":"` + id + `","state":"rolling-back","from":"v1.9.4","to":"v1.10.0","install_dir":"/opt/harbor",
		"steps":[{"name":"stop","status":"done"},{"name":"backup","status":"done"},{"name":"load","status":"started"}],
		"rollback":[{"name":"stop-new","status":"done"},{"name":"restore","status":"started"}],"created":"2026-11-25T18:00:00Z"}`
	os.WriteFile(filepath.Join(dir, id, upgrade.JournalName), []byte(j), 0o600)
	code, out, _ := runAsBundle(t, "status", "--backup-dir", dir)
	for _, want := range []string{"state rolling-back", "rollback restore", "started",
		"The rollback of upgrade " + id + " (Harbor v1.9.4 -> v1.10.0) was interrupted at step restore (started)",
		"Run `rollback --backup " + id + "` to finish it and return to v1.9.4"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "--resume") {
		t.Errorf("status offers --resume, which refuses during a rollback:\n%s", out)
	}
	if code != 0 {
		t.Errorf("exit %d", code)
	}
}

// The summary shows the projects and repositories before and after, as the journal has them.
func TestPrintResultCounts(t *testing.T) {
	var b strings.Builder
	printResult(&b, &upgrade.Result{ID: "x", From: "v2.8.6", To: "v2.10.3", State: upgrade.StateDone,
		CountsBefore: &upgrade.DataCounts{Projects: 3, Repositories: 7}, CountsAfter: &upgrade.DataCounts{Projects: 3, Repositories: 7}})
	if !strings.Contains(b.String(), "Data:   before 3 projects, 7 repositories; after 3 projects, 7 repositories") {
		t.Errorf("summary:\n%s", b.String())
	}
	b.Reset()
	printResult(&b, &upgrade.Result{ID: "x", From: "v2.8.6", To: "v2.10.3", State: upgrade.StateDone,
		CountsAfter: &upgrade.DataCounts{Projects: 1}})
	if !strings.Contains(b.String(), "before unknown; after 1 projects, 0 repositories") {
		t.Errorf("summary without counts before:\n%s", b.String())
	}
}
