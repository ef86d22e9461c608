package upgrade

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/harborbundle/bundle/internal/atomicfile"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Step names, in the order an upgrade runs them. The journal records them by these names.
const (
	StepStop    = "stop"
	StepBackup  = "backup"
	StepLoad    = "load"
	StepMigrate = "migrate"
	StepInstall = "install"
	StepHealth  = "health"
)

// changingSteps are the steps that change the host, in order.
var changingSteps = []string{StepStop, StepBackup, StepLoad, StepMigrate, StepInstall, StepHealth}

// Journal states. An upgrade is "open" until it reaches a final state.
const (
	StateRunning        = "running"         // steps in progress (or the process died)
	StateFailed         = "failed"          // failed with --no-rollback: waiting for resume or rollback
	StateRollingBack    = "rolling-back"    // rollback in progress (or the process died during it)
	StateRollbackFailed = "rollback-failed" // rollback failed: manual commands were printed
	StateDone           = "done"            // upgraded and healthy
	StateRolledBack     = "rolled-back"     // back on the old version, healthy
	StateKeptProgress   = "kept-progress"   // a chain stopped at its last healthy hop (--keep-progress)
)

// Step states.
const (
	StatusStarted = "started"
	StatusDone    = "done"
	StatusFailed  = "failed"
)

// JournalName is the journal file inside a backup's directory.
const JournalName = "journal.json"

// Journal is the durable record of one upgrade: enough to explain where it stopped, to resume it
// and to roll it back from another process after a crash.
type Journal struct {
	ID    string `json:"id"`
	State string `json:"state"`
	// Bundle identifies the bundle that started the upgrade: a different bundle may not touch
	// an open journal.
	Bundle BundleRef `json:"bundle"`
	From   string    `json:"from"` // "v1.9.4"
	To     string    `json:"to"`   // "v1.10.0"

	InstallDir string `json:"install_dir"`
	DataVolume string `json:"data_volume"`
	HTTPPort   int    `json:"http_port"`
	HTTPSPort  int    `json:"https_port,omitempty"`
	// Components and InstallFlags are the new install's (by default the old one's);
	// OldInstallFlags are what a rollback runs the old install.sh with.
	Components      []string `json:"components"`
	InstallFlags    []string `json:"install_flags"`
	OldInstallFlags []string `json:"old_install_flags"`
	// OldImages are the images the old install runs; a rollback needs them.
	OldImages []string `json:"old_images"`
	// CountsBefore are the projects and repositories the old Harbor's database held just
	// before the stop; nil with CountsUnknown saying why they could not be read (Harbor was
	// stopped). CountsAfter are the new Harbor's once healthy: fewer is a failed upgrade.
	// ComposeOld is the tool that stops the old install (and stops it again in a rollback);
	// ComposeNew the one the new install.sh uses, which stops the new install in a rollback.
	// Journals written before these existed read as docker-compose, all 1.x knew.
	// APIBase and OldAPIBase are where the new and the old core serve systeminfo (catalog
	// api_base); "" when the catalog did not say: both paths are tried.
	APIBase       string      `json:"api_base,omitempty"`
	OldAPIBase    string      `json:"old_api_base,omitempty"`
	ComposeOld    ComposeTool `json:"compose_old"`
	ComposeNew    ComposeTool `json:"compose_new"`
	CountsBefore  *DataCounts `json:"counts_before,omitempty"`
	CountsUnknown string      `json:"counts_unknown,omitempty"`
	CountsAfter   *DataCounts `json:"counts_after,omitempty"`

	// ScanDBs are the Trivy DB kinds the upgrade installs (scandb_upgrade.go): a rollback puts
	// their backup trees (named by kind) back, or removes what was not there before.
	ScanDBs []string `json:"scan_dbs,omitempty"`

	// Chain is set for a multi-hop bundle: its hops and the one in progress (chain_run.go).
	Chain *ChainRecord `json:"chain,omitempty"`

	Backup   BackupRecord `json:"backup"`
	Steps    []StepRecord `json:"steps"`
	Rollback []StepRecord `json:"rollback,omitempty"`
	Error    string       `json:"error,omitempty"`
	Created  time.Time    `json:"created"`
	Updated  time.Time    `json:"updated"`

	dir string // <backup-dir>/<id>
}

// BundleRef names a bundle by the sha256 of its manifest (which pins every byte of it).
type BundleRef struct {
	Path           string `json:"path"`
	Release        string `json:"release"`
	ManifestSHA256 string `json:"manifest_sha256"`
}

// BackupRecord says what the backup holds and how to check it.
type BackupRecord struct {
	// Trees maps "harbor", "database", "secret" to the checksum record of their copy.
	Trees map[string]TreeRecord `json:"trees,omitempty"`
}

// TreeRecord locates one backed-up tree and its checksum manifest.
type TreeRecord struct {
	Source   string `json:"source"`   // where it came from (and goes back to)
	Path     string `json:"path"`     // the copy inside the backup dir
	Manifest string `json:"manifest"` // the tree manifest file inside the backup dir
	SHA256   string `json:"sha256"`   // of the manifest file
	Files    int    `json:"files"`    // entries in the tree
	Bytes    int64  `json:"bytes"`    // bytes of regular files
	Moved    bool   `json:"moved"`    // the source was moved (renamed) rather than copied
	Complete bool   `json:"complete"` // the copy finished and matched
}

// StepRecord is one step's entry in the journal.
type StepRecord struct {
	Name    string        `json:"name"`
	Status  string        `json:"status"`
	Started time.Time     `json:"started"`
	Ended   time.Time     `json:"ended,omitzero"`
	Error   string        `json:"error,omitempty"`
	Took    time.Duration `json:"took_ns,omitempty"`
}

// Dir is the backup directory this journal lives in.
func (j *Journal) Dir() string { return j.dir }

// Open reports whether the upgrade has not reached a final state.
func (j *Journal) Open() bool {
	return j.State != StateDone && j.State != StateRolledBack && j.State != StateKeptProgress
}

// Save writes the journal atomically: a synced temp file renamed over the old one, then the
// directory synced, so a crash leaves either the old or the new journal, never half of one.
func (j *Journal) Save() error {
	j.Updated = time.Now().UTC()
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding journal: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(j.dir, JournalName), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing journal: %w", err)
	}
	return nil
}

// step returns the record of the named step, or nil.
func (j *Journal) step(name string) *StepRecord {
	for i := range j.Steps {
		if j.Steps[i].Name == name {
			return &j.Steps[i]
		}
	}
	return nil
}

// StepStatus returns the status of the named step ("" when it never started).
func (j *Journal) StepStatus(name string) string {
	if s := j.step(name); s != nil {
		return s.Status
	}
	return ""
}

// begin records that a step starts (and saves).
func (j *Journal) begin(name string) error {
	rec := StepRecord{Name: name, Status: StatusStarted, Started: time.Now().UTC()}
	if s := j.step(name); s != nil {
		*s = rec
	} else {
		j.Steps = append(j.Steps, rec)
	}
	return j.Save()
}

// end records a step's outcome (and saves).
func (j *Journal) end(name string, stepErr error) error {
	s := j.step(name)
	if s == nil {
		return fmt.Errorf("journal: step %s ended without starting", name)
	}
	s.Ended = time.Now().UTC()
	s.Took = s.Ended.Sub(s.Started)
	s.Status = StatusDone
	if stepErr != nil {
		s.Status, s.Error = StatusFailed, stepErr.Error()
	}
	return j.Save()
}

// LastStep is the last step that started, and its status ("" when none did).
func (j *Journal) LastStep() (name, status string) {
	if len(j.Steps) == 0 {
		return "", ""
	}
	s := j.Steps[len(j.Steps)-1]
	return s.Name, s.Status
}

// ReadJournal reads the journal in a backup directory.
func ReadJournal(dir string) (*Journal, error) {
	b, err := os.ReadFile(filepath.Join(dir, JournalName))
	if err != nil {
		return nil, fmt.Errorf("reading journal: %w", err)
	}
	var j Journal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("reading journal %s: %w", filepath.Join(dir, JournalName), err)
	}
	j.dir = dir
	return &j, nil
}

// Journals lists the journals under backupDir, oldest first. Directories without a journal are
// skipped (they are not ours to judge).
func Journals(backupDir string) ([]*Journal, error) {
	ents, err := os.ReadDir(backupDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing backups: %w", err)
	}
	var out []*Journal
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		j, err := ReadJournal(filepath.Join(backupDir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Created.Before(out[b].Created) })
	return out, nil
}

// OpenJournal returns the unfinished upgrade under backupDir, or nil. There is at most one: an
// upgrade refuses to start while another is open.
func OpenJournal(backupDir string) (*Journal, error) {
	js, err := Journals(backupDir)
	if err != nil {
		return nil, err
	}
	for i := len(js) - 1; i >= 0; i-- {
		if js[i].Open() {
			return js[i], nil
		}
	}
	return nil, nil
}

// newJournal creates the backup directory of a new upgrade (0700) and its first journal.
func newJournal(backupDir string, now time.Time, from, to string) (*Journal, error) {
	id := fmt.Sprintf("%s-%s-to-%s", now.UTC().Format("20060102-150405"), from, to)
	dir := filepath.Join(backupDir, id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating backup directory: %w", err)
	}
	j := &Journal{ID: id, State: StateRunning, From: from, To: to, Created: now.UTC(), dir: dir}
	return j, j.Save()
}
