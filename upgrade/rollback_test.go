package upgrade

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// backedUp makes a journal whose backup holds a copy of a small database tree.
func backedUp(t *testing.T) (*Journal, string) {
	t.Helper()
	tmp := t.TempDir()
	dv := filepath.Join(tmp, "data")
	makeTree(t, filepath.Join(dv, "database"))
	os.MkdirAll(filepath.Join(tmp, "backups"), 0o700)
	j, err := newJournal(filepath.Join(tmp, "backups"), time.Now(), "v1.9.4", "v1.10.0")
	if err != nil {
		t.Fatal(err)
	}
	j.InstallDir, j.DataVolume = filepath.Join(tmp, "harbor"), dv
	j.OldImages = []string{"goharbor/harbor-core:v1.9.4", "goharbor/prepare:v1.9.4"}
	j.OldInstallFlags = []string{"--with-clair"}
	u := &Upgrade{journal: j, log: newRunLog(), o: Options{}}
	u.o.defaults()
	j.Backup.Trees = map[string]TreeRecord{}
	if err := u.copyIntoBackup(context.Background(), "database", filepath.Join(dv, "database")); err != nil {
		t.Fatal(err)
	}
	return j, filepath.Join(j.Dir(), "database")
}

func TestVerifyBackupRefusesTampering(t *testing.T) {
	j, copyDir := backedUp(t)
	if err := verifyBackup(j); err != nil {
		t.Fatalf("fresh backup: %v", err)
	}
	os.Chmod(filepath.Join(copyDir, "PG_VERSION"), 0o644)
	err := verifyBackup(j)
	var me *BackupMismatchError
	if !errors.As(err, &me) || me.ExitCode() != 2 || !strings.Contains(err.Error(), "PG_VERSION: mode") {
		t.Errorf("tampered backup: %v", err)
	}
	os.Chmod(filepath.Join(copyDir, "PG_VERSION"), 0o600)
	// The manifest itself is pinned by its sha256 in the journal.
	rec := j.Backup.Trees["database"]
	b, _ := os.ReadFile(rec.Manifest)
	os.WriteFile(rec.Manifest, append(b, ' '), 0o600)
	if err := verifyBackup(j); !errors.As(err, &me) {
		t.Errorf("edited manifest: %v", err)
	}
}

func TestManualCommandsNameEveryPath(t *testing.T) {
	j, _ := backedUp(t)
	cmds := strings.Join(manualCommands(j), "\n")
	for _, want := range []string{
		"cd " + j.InstallDir + " && docker-compose down",
		"cp -a " + filepath.Join(j.Dir(), "harbor") + " " + j.InstallDir,
		"cp -a " + filepath.Join(j.Dir(), "database") + " " + filepath.Join(j.DataVolume, "database"),
		"docker load -i harbor.v1.9.4.tar.gz",
		"cd " + j.InstallDir + " && ./install.sh --with-clair",
	} {
		if !strings.Contains(cmds, want) {
			t.Errorf("manual commands lack %q:\n%s", want, cmds)
		}
	}
	if strings.Contains(cmds, "/secret") {
		t.Errorf("secret was never backed up here, yet restored by hand:\n%s", cmds)
	}
}
