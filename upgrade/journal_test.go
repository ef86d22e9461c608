package upgrade

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestJournalRoundTripAndSteps(t *testing.T) {
	backup := t.TempDir()
	j, err := newJournal(backup, time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC), "v1.9.4", "v1.10.0")
	if err != nil {
		t.Fatal(err)
	}
	if j.ID != "20261125-180000-v1.9.4-to-v1.10.0" {
		t.Errorf("id %q", j.ID)
	}
	st, err := os.Stat(j.Dir())
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("backup dir mode: %v %v", st.Mode(), err)
	}
	if err := j.begin(StepStop); err != nil {
		t.Fatal(err)
	}
	// What a crash right now leaves: the step started, not ended.
	got, err := ReadJournal(j.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if name, status := got.LastStep(); name != StepStop || status != StatusStarted {
		t.Errorf("after begin: %s %s", name, status)
	}
	if err := j.end(StepStop, nil); err != nil {
		t.Fatal(err)
	}
	if err := j.begin(StepBackup); err != nil {
		t.Fatal(err)
	}
	if err := j.end(StepBackup, errors.New("disk full")); err != nil {
		t.Fatal(err)
	}
	got, err = ReadJournal(j.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if got.StepStatus(StepStop) != StatusDone || got.StepStatus(StepBackup) != StatusFailed || got.StepStatus(StepLoad) != "" {
		t.Errorf("statuses: %+v", got.Steps)
	}
	if got.step(StepBackup).Error != "disk full" {
		t.Errorf("error not kept: %+v", got.step(StepBackup))
	}
	fi, err := os.Stat(filepath.Join(j.Dir(), JournalName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v %v", fi.Mode(), err)
	}
}

func TestJournalSaveLeavesNoTempFiles(t *testing.T) {
	j, err := newJournal(t.TempDir(), time.Now(), "v1.9.4", "v1.10.0")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if err := j.Save(); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := os.ReadDir(j.Dir())
	if len(ents) != 1 || ents[0].Name() != JournalName {
		t.Errorf("backup dir holds %v, want only the journal", ents)
	}
}

// A crash between writing the temp file and renaming it must leave the previous journal whole.
func TestJournalCrashBeforeRenameKeepsOldJournal(t *testing.T) {
	j, err := newJournal(t.TempDir(), time.Now(), "v1.9.4", "v1.10.0")
	if err != nil {
		t.Fatal(err)
	}
	j.begin(StepStop)
	// Simulate the half-written temp file a crash leaves behind.
	os.WriteFile(filepath.Join(j.Dir(), "."+JournalName+".tmp-123"), []byte(`{"id": "trunc`), 0o600)
	got, err := ReadJournal(j.Dir())
	if err != nil {
		t.Fatalf("journal unreadable after a crashed save: %v", err)
	}
	if got.StepStatus(StepStop) != StatusStarted {
		t.Errorf("lost the step: %+v", got.Steps)
	}
	// Journals ignores dot files and dirs without a journal.
	os.Mkdir(filepath.Join(filepath.Dir(j.Dir()), "not-ours"), 0o700)
	js, err := Journals(filepath.Dir(j.Dir()))
	if err != nil || len(js) != 1 {
		t.Fatalf("Journals = %d, %v", len(js), err)
	}
}

func TestOpenJournal(t *testing.T) {
	backup := t.TempDir()
	if j, err := OpenJournal(backup); err != nil || j != nil {
		t.Fatalf("empty dir: %v %v", j, err)
	}
	old, _ := newJournal(backup, time.Now().Add(-time.Hour), "v1.8.6", "v1.9.4")
	old.State = StateDone
	old.Save()
	if j, _ := OpenJournal(backup); j != nil {
		t.Fatalf("finished journal reported open: %s", j.ID)
	}
	cur, _ := newJournal(backup, time.Now(), "v1.9.4", "v1.10.0")
	j, err := OpenJournal(backup)
	if err != nil || j == nil || j.ID != cur.ID {
		t.Fatalf("OpenJournal = %v, %v; want %s", j, err, cur.ID)
	}
	if !strings.HasPrefix(j.Dir(), backup) {
		t.Errorf("dir %s", j.Dir())
	}
	if _, err := ReadJournal(filepath.Join(backup, "nope")); err == nil {
		t.Error("reading a missing journal succeeded")
	}
}
