package upgrade

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/harborbundle/bundle/progress"
)

// StatusReport is what `status` prints: the last upgrade and every backup on disk.
type StatusReport struct {
	BackupDir string       `json:"backup_dir"`
	Open      *Journal     `json:"open,omitempty"` // an unfinished upgrade, if any
	Last      *Journal     `json:"last,omitempty"`
	Backups   []BackupInfo `json:"backups"`
}

// BackupInfo is one backup directory.
type BackupInfo struct {
	ID       string    `json:"id"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	State    string    `json:"state"`
	LastStep string    `json:"last_step"`
	Created  time.Time `json:"created"`
	Bytes    int64     `json:"bytes"`
	Path     string    `json:"path"`
}

// Status reads the journals under backupDir. Backups are never deleted automatically; this is
// where an administrator sees what they cost.
func Status(backupDir string) (*StatusReport, error) {
	if backupDir == "" {
		backupDir = DefaultBackupDir
	}
	js, err := Journals(backupDir)
	if err != nil {
		return nil, err
	}
	r := &StatusReport{BackupDir: backupDir}
	for _, j := range js {
		name, status := j.LastStep()
		size, _ := treeBytes(j.Dir())
		r.Backups = append(r.Backups, BackupInfo{ID: j.ID, From: j.From, To: j.To, State: j.State,
			LastStep: name + " " + status, Created: j.Created, Bytes: size, Path: j.Dir()})
		if j.Open() {
			r.Open = j
		}
		r.Last = j
	}
	return r, nil
}

// nextAction says what an unfinished upgrade is waiting for: --resume for an interrupted
// upgrade, `rollback` for an interrupted or failed rollback (an upgrade cannot resume then).
func nextAction(j *Journal) string {
	switch j.State {
	case StateRollingBack, StateRollbackFailed:
		step, status := "before its first step", ""
		if n := len(j.Rollback); n > 0 {
			step, status = "at step "+j.Rollback[n-1].Name, " ("+j.Rollback[n-1].Status+")"
		}
		what := "was interrupted"
		if j.State == StateRollbackFailed {
			what = "failed"
		}
		return fmt.Sprintf("The rollback of upgrade %s (Harbor %s -> %s) %s %s%s, state %s; Harbor may be down or half restored. Run `rollback --backup %s` to finish it and return to %s.",
			j.ID, j.From, j.To, what, step, status, j.State, j.ID, j.From)
	}
	return openJournalErr(j).Error()
}

// WriteText prints the report for a person.
func (r *StatusReport) WriteText(w io.Writer) error {
	if r.Last == nil {
		_, err := fmt.Fprintf(w, "No upgrade recorded in %s.\n", r.BackupDir)
		return err
	}
	j := r.Last
	fmt.Fprintf(w, "Last upgrade: %s, Harbor %s -> %s in %s, state %s\n", j.ID, j.From, j.To, j.InstallDir, j.State)
	for _, s := range j.Steps {
		line := fmt.Sprintf("  %-8s %-8s %s", s.Name, s.Status, s.Took.Round(time.Millisecond))
		if s.Error != "" {
			line += "  " + s.Error
		}
		fmt.Fprintln(w, line)
	}
	for _, s := range j.Rollback {
		fmt.Fprintf(w, "  rollback %-14s %-8s %s %s\n", s.Name, s.Status, s.Took.Round(time.Millisecond), s.Error)
	}
	if r.Open != nil {
		fmt.Fprintf(w, "\n%s\n", nextAction(r.Open))
	}
	fmt.Fprintf(w, "\nBackups in %s (never deleted automatically):\n", r.BackupDir)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tFROM\tTO\tSTATE\tSIZE")
	for _, b := range r.Backups {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", b.ID, b.From, b.To, b.State, progress.HumanBytes(b.Bytes))
	}
	return tw.Flush()
}
