package upgrade

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/progress"
	"github.com/harborbundle/bundle/scandb"
)

// The DB-only refresh: a bundle of Kind trivy-db-refresh (`bundle build --trivy-db-only`)
// replaces the Trivy DBs of a running 2.x Harbor without touching anything else:
//
//	verify -> detect -> checks -> plan -> stage -> stop trivy-adapter -> swap -> start -> wait
//
// Everything up to the plan only reads (a refusal, exit 2, changes nothing; the bundle's every
// byte, the DB blobs included, is checked against its manifest before that). The new DB is
// unpacked beside the old one before the adapter stops, so the adapter is down only for the
// swap, a rename. The old DB stays beside the new one as <dir>.previous-<time> (the one before
// it, if any, is removed: one previous DB is kept, not one per week). When the adapter does not
// come back serving the new DB, the old one is swapped back and the adapter started again
// (exit 1); when that fails too the error says what to run (exit 3).
//
// The refresh takes the upgrade's lock: it never runs beside an upgrade or another refresh, and
// it refuses while an upgrade's journal is open.
//
// skip_update: an adapter without it downloads a DB at its next update time, which fails on an
// air-gapped host, and its scans with it. Setting it needs harbor.yml edited and prepare run,
// which restarts all of Harbor, not what a DB refresh may do; so the refresh installs the DB and
// warns, in one line, how to set it (the next upgrade bundle with a DB sets it).

// RefreshOptions configure a DB-only refresh. The zero value of every field but Bundle is usable.
type RefreshOptions struct {
	Bundle    Source
	BundleRef BundleRef
	Engine    Engine
	HarborDir string // --harbor-dir; default: from the running containers
	BackupDir string // where the lock and the refresh's log go; default DefaultBackupDir
	// Force installs a DB older than the installed one.
	Force   bool
	DryRun  bool
	Timeout time.Duration // how long the adapter may take to serve the new DB; default 5m
	// Interval between polls of the adapter; default 2s.
	Interval time.Duration
	Out      io.Writer
	Progress progress.Reporter
}

// RefreshPlan is what a refresh will do, shown before anything changes.
type RefreshPlan struct {
	Harbor     string           `json:"harbor"` // the installed version
	InstallDir string           `json:"install_dir"`
	Cache      string           `json:"cache_dir"` // data_volume/trivy-adapter/trivy
	DBs        []RefreshDB      `json:"dbs"`
	Compose    ComposeTool      `json:"compose"`
	Warnings   []string         `json:"warnings,omitempty"`
	Bundle     BundleRef        `json:"bundle"`
	Bytes      int64            `json:"bytes"` // unpacked size of the new DBs
	Free       int64            `json:"free"`
	dbs        []payload.ScanDB // to install, in RefreshDB order
}

// RefreshDB is one DB the refresh replaces.
type RefreshDB struct {
	Kind      string `json:"kind"`
	Dir       string `json:"dir"`
	UpdatedAt string `json:"updated_at"` // the bundle's
	Installed string `json:"installed_updated_at,omitempty"`
	// Previous is where the installed DB is kept after the swap.
	Previous string `json:"previous,omitempty"`
}

// WriteText writes the plan for a person.
func (p *RefreshPlan) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Refresh the Trivy vulnerability DB of Harbor %s (%s)\n", p.Harbor, p.InstallDir)
	for _, d := range p.DBs {
		inst := "none installed"
		if d.Installed != "" {
			inst = "installed: updated " + d.Installed + ", kept as " + d.Previous
		}
		fmt.Fprintf(&b, "  %-14s updated %s -> %s (%s)\n", d.Kind, d.UpdatedAt, d.Dir, inst)
	}
	fmt.Fprintf(&b, "  space          needs %s on the data volume, %s free\n", progress.HumanBytes(p.Bytes), progress.HumanBytes(p.Free))
	fmt.Fprintf(&b, "  steps          unpack beside the old DB; %s stop trivy-adapter; swap (rename); start trivy-adapter; wait until it serves the new DB (else the old one is swapped back)\n", p.Compose.Name())
	for _, wr := range p.Warnings {
		fmt.Fprintf(&b, "  WARNING        %s\n", wr)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// RefreshResult is the outcome of a refresh.
type RefreshResult struct {
	DBs  []RefreshDB   `json:"dbs"`
	Log  string        `json:"log"`
	Took time.Duration `json:"took_ns"`
}

// RefreshRefusedError is a refresh refused before any change.
type RefreshRefusedError struct{ Reason string }

func (e *RefreshRefusedError) Error() string {
	return "refusing to refresh the Trivy DB, nothing was changed: " + e.Reason
}

// ExitCode: refused before any change.
func (e *RefreshRefusedError) ExitCode() int { return 2 }

// RefreshFailedError is a refresh that failed after stopping the adapter. RolledBack says the
// old DB is back and the adapter serves it (exit 1); otherwise Commands finish by hand (exit 3).
type RefreshFailedError struct {
	Err        error
	RolledBack bool
	Commands   []string
	Log        string
}

func (e *RefreshFailedError) Error() string {
	if e.RolledBack {
		return fmt.Sprintf("the DB refresh failed: %v. Rolled back: trivy-adapter serves the previous DB again; log: %s", e.Err, e.Log)
	}
	return fmt.Sprintf("the DB refresh failed: %v, and so did putting the previous DB back. Finish by hand:\n  %s\nlog: %s", e.Err, strings.Join(e.Commands, "\n  "), e.Log)
}
func (e *RefreshFailedError) Unwrap() error { return e.Err }

// ExitCode: 1 when rolled back, 3 when not.
func (e *RefreshFailedError) ExitCode() int {
	if e.RolledBack {
		return 1
	}
	return 3
}

// Refresh is a prepared DB refresh: verified, checked and planned; it holds the lock until Close.
type Refresh struct {
	o    RefreshOptions
	plan *RefreshPlan
	in   *Install
	lock *Lock
	log  *runLog
	tag  string // time stamp of this refresh, in the names it leaves
}

// Plan is what Execute will do.
func (r *Refresh) Plan() *RefreshPlan { return r.plan }

// Close releases the lock.
func (r *Refresh) Close() error {
	r.lock.Release()
	return r.log.Close()
}

func refreshRefused(format string, a ...any) error {
	return &RefreshRefusedError{Reason: fmt.Sprintf(format, a...)}
}

// PrepareRefresh verifies the bundle, finds the running Harbor, checks everything and makes the
// plan. It changes nothing on the host but the lock file (none in a dry run).
func PrepareRefresh(ctx context.Context, o RefreshOptions) (_ *Refresh, err error) {
	if o.BackupDir == "" {
		o.BackupDir = DefaultBackupDir
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Interval <= 0 {
		o.Interval = 2 * time.Second
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	o.Progress = progress.Or(o.Progress)
	r := &Refresh{o: o, log: newRunLog(), tag: time.Now().UTC().Format("20060102-150405")}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if r.o.Engine == nil {
		r.o.Engine = NewDockerEngine(r.log)
	}
	m := o.Bundle.Manifest()
	if m.Kind != payload.KindTrivyDBRefresh || len(m.ScanDBs) == 0 {
		return nil, refreshRefused("this bundle is not a Trivy DB refresh (kind %q)", m.Kind)
	}
	fmt.Fprintf(o.Out, "Verifying %s (Trivy DB: %s)...\n", o.BundleRef.Path, scanDBKinds(m.ScanDBs))
	// Every byte, the DB blobs included, before anything else: a corrupt blob is refused here.
	if err := o.Bundle.Verify(ctx, r.o.Progress); err != nil {
		return nil, &BundleError{err}
	}
	if o.DryRun {
		err = CheckLock(o.BackupDir)
	} else if err = os.MkdirAll(o.BackupDir, 0o700); err == nil {
		r.lock, err = AcquireLock(o.BackupDir)
	}
	if err != nil {
		var locked *LockedError
		if errors.As(err, &locked) {
			return nil, err
		}
		return nil, refreshRefused("%v", err)
	}
	if j, err := OpenJournal(o.BackupDir); err != nil {
		return nil, err
	} else if j != nil {
		return nil, refreshRefused("an upgrade %s -> %s (%s) did not finish; finish it (--resume) or roll it back first", j.From, j.To, j.ID)
	}
	r.in, err = Detect(ctx, r.o.Engine, o.HarborDir)
	if err != nil {
		return nil, err
	}
	if err := r.makePlan(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// makePlan runs every check of the installed Harbor and of the bundle's DBs against it.
func (r *Refresh) makePlan(ctx context.Context) error {
	in, m := r.in, r.o.Bundle.Manifest()
	v, err := harbor.ParseVersion(in.Version)
	if err != nil {
		return refreshRefused("%v", err)
	}
	if v.Major < 2 {
		return refreshRefused("Harbor %s in %s has no Trivy (it came with 2.0)", in.Version, in.Dir)
	}
	if !slices.Contains(in.Components, harbor.Trivy) {
		return refreshRefused("Harbor %s in %s does not run trivy (installed without --with-trivy): there is no adapter to give the DB to", in.Version, in.Dir)
	}
	if !in.Running {
		return refreshRefused("Harbor %s in %s is not running; start it first (the refresh checks the adapter serves the new DB)", in.Version, in.Dir)
	}
	i := slices.IndexFunc(in.Containers, func(c Container) bool { return c.Name == adapterContainer })
	if i < 0 || in.Containers[i].State != "running" {
		// Also what a refresh killed after it stopped the adapter leaves: the DB dir is whole
		// (the swap is one rename), the old DB or the new one, so starting the adapter is safe.
		return refreshRefused("the trivy-adapter container of %s is not running: start it (docker start trivy-adapter) and run this again; the DB in place is whole, the old one or the new one", in.Dir)
	}
	tool, ok := composeOfContainers(in.Containers)
	if !ok {
		return refreshRefused("cannot tell which compose tool started %s (no compose labels on its containers)", in.Dir)
	}
	p := &RefreshPlan{Harbor: in.Version, InstallDir: in.Dir, Cache: trivyCache(in.DataVolume), Compose: tool, Bundle: r.o.BundleRef}
	var skipped []string
	for _, d := range m.ScanDBs {
		dir, err := scanDBDir(in.DataVolume, d.Kind)
		if err != nil {
			return refreshRefused("%v", err)
		}
		size, err := checkCarried(r.o.Bundle, d)
		if err != nil {
			return &BundleError{err}
		}
		rd := RefreshDB{Kind: d.Kind, Dir: dir, UpdatedAt: d.Metadata.UpdatedAt}
		inst, ok, err := scandb.Installed(p.Cache, d.Kind)
		if err != nil {
			return refreshRefused("%v", err)
		}
		if ok {
			rd.Installed = inst.UpdatedAt
			rd.Previous = dir + ".previous-" + r.tag
			if sameSecond(inst.UpdatedAt, d.Metadata.UpdatedAt) {
				skipped = append(skipped, fmt.Sprintf("%s updated %s is installed already", d.Kind, inst.UpdatedAt))
				continue
			}
			older, err := scandb.Older(d.Metadata, inst)
			if err != nil {
				return refreshRefused("comparing the %s's UpdatedAt: %v", d.Kind, err)
			}
			if older && !r.o.Force {
				return refreshRefused("the bundle's %s (updated %s) is older than the installed one (updated %s); pass --force to install it anyway", d.Kind, d.Metadata.UpdatedAt, inst.UpdatedAt)
			}
		}
		p.Bytes += size
		p.DBs = append(p.DBs, rd)
		p.dbs = append(p.dbs, d)
	}
	if len(p.DBs) == 0 {
		return &AlreadyRefreshedError{What: strings.Join(skipped, "; ")}
	}
	p.Bytes = withMargin(p.Bytes)
	if p.Free, err = freeBytes(in.DataVolume); err != nil {
		return refreshRefused("measuring free space on %s: %v", in.DataVolume, err)
	}
	if p.Bytes > p.Free {
		return refreshRefused("the new DB needs %s on %s but only %s is free (the old one stays until the swap)", progress.HumanBytes(p.Bytes), in.DataVolume, progress.HumanBytes(p.Free))
	}
	if w := skipUpdateWarning(in); w != "" {
		p.Warnings = append(p.Warnings, w)
	}
	r.plan = p
	return nil
}

// AlreadyRefreshedError: every DB of the bundle is installed already; nothing to do (exit 0).
type AlreadyRefreshedError struct{ What string }

func (e *AlreadyRefreshedError) Error() string { return "nothing to do: " + e.What }

// ExitCode: not a failure.
func (e *AlreadyRefreshedError) ExitCode() int { return 0 }

// skipUpdateWarning reads the adapter's env as prepare wrote it (what the running adapter was
// started with): without SCANNER_TRIVY_SKIP_UPDATE=True it will try to download.
func skipUpdateWarning(in *Install) string {
	b, err := os.ReadFile(filepath.Join(in.Dir, "common", "config", "trivy-adapter", "env"))
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "SCANNER_TRIVY_SKIP_UPDATE="); ok {
			if on, _ := strconv.ParseBool(v); on {
				return ""
			}
		}
	}
	return fmt.Sprintf("trivy.skip_update is not set in %s: Trivy will try to download a DB at the new one's NextUpdate and its scans fail on a host without network; set trivy.skip_update (and offline_scan) to true there and run ./prepare, or let the next upgrade bundle with --with-trivy-db set them", in.ConfigPath())
}

// Execute stages the new DBs, stops the adapter, swaps, starts it and waits for it to serve the
// new DB; on failure it swaps back.
func (r *Refresh) Execute(ctx context.Context) (*RefreshResult, error) {
	if r.o.DryRun {
		return nil, errors.New("a dry run does not execute")
	}
	start := time.Now()
	logPath := filepath.Join(r.o.BackupDir, "trivy-db-refresh-"+r.tag+".log")
	if err := r.log.attach(logPath); err != nil {
		return nil, err
	}
	p, in := r.plan, r.in
	fmt.Fprintf(r.log, "trivy db refresh of %s in %s: %s\n", in.Version, in.Dir, scanDBKinds(p.dbs))
	// Stage while the adapter still runs: a failure here changes nothing but our staging dirs.
	stages := make([]string, len(p.dbs))
	for i, d := range p.dbs {
		fmt.Fprintf(r.o.Out, "==> unpack %s\n", d.Kind)
		s, err := stageScanDB(r.o.Bundle, d, p.Cache, r.tag)
		if err != nil {
			for _, s := range stages[:i] {
				os.RemoveAll(s)
			}
			return nil, fmt.Errorf("%w (nothing else was changed)", err)
		}
		stages[i] = s
	}
	fmt.Fprintf(r.o.Out, "==> stop trivy-adapter\n")
	swapped := 0
	err := r.o.Engine.Compose(ctx, p.Compose, in.Dir, "stop", adapterContainer)
	if err == nil {
		fmt.Fprintf(r.o.Out, "==> swap\n")
		for i, d := range p.DBs {
			keep := ""
			if d.Installed != "" {
				keep = d.Previous
			}
			if _, err = swapInto(stages[i], d.Dir, keep); err != nil {
				err = fmt.Errorf("swapping in the %s: %w", d.Kind, err)
				break
			}
			swapped++
			fmt.Fprintf(r.log, "%s: %s in place, the previous one kept as %s\n", d.Kind, d.Dir, orText(keep, "(none before)"))
		}
	}
	if err == nil {
		fmt.Fprintf(r.o.Out, "==> start trivy-adapter, wait for the new DB\n")
		err = r.startAndWait(ctx, r.newTrivyDB())
	}
	if err != nil {
		fmt.Fprintf(r.log, "refresh failed: %v\n", err)
		for _, s := range stages[swapped:] {
			os.RemoveAll(s)
		}
		return nil, r.rollBack(ctx, swapped, err, logPath)
	}
	var removed []string
	for _, d := range p.DBs {
		if d.Installed != "" {
			removed = append(removed, removeOlderPrevious(d.Dir, d.Previous)...)
		}
	}
	for _, d := range p.DBs {
		kept := "no previous DB"
		if d.Installed != "" {
			kept = "previous (updated " + d.Installed + ") kept in " + d.Previous
		}
		fmt.Fprintf(r.o.Out, "%s updated %s installed in %s; %s\n", d.Kind, d.UpdatedAt, d.Dir, kept)
	}
	if len(removed) > 0 {
		fmt.Fprintf(r.log, "removed older previous DBs: %s\n", strings.Join(removed, " "))
	}
	return &RefreshResult{DBs: p.DBs, Log: logPath, Took: time.Since(start)}, nil
}

// newTrivyDB is the UpdatedAt the adapter must report after the swap: the new vulnerability
// DB's, or the installed one's when only the Java DB is refreshed ("" when there is none).
func (r *Refresh) newTrivyDB() string {
	for _, d := range r.plan.DBs {
		if d.Kind == payload.ScanDBTrivy {
			return d.UpdatedAt
		}
	}
	m, ok, _ := scandb.Installed(r.plan.Cache, payload.ScanDBTrivy)
	if ok {
		return m.UpdatedAt
	}
	return ""
}

// startAndWait starts the adapter and waits until it runs, is healthy and reports want.
func (r *Refresh) startAndWait(ctx context.Context, want string) error {
	if err := r.o.Engine.Compose(ctx, r.plan.Compose, r.in.Dir, "start", adapterContainer); err != nil {
		return fmt.Errorf("starting trivy-adapter: %w", err)
	}
	deadline := time.Now().Add(r.o.Timeout)
	for {
		cs, err := r.o.Engine.Containers(ctx, LabelWorkingDir+"="+r.in.Dir)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(cs, func(c Container) bool { return c.Name == adapterContainer })
		if i >= 0 && cs[i].State == "running" && (cs[i].Health == "" || cs[i].Health == "healthy") {
			break
		}
		if time.Now().After(deadline) {
			state := "gone"
			if i >= 0 {
				state = cs[i].State + " " + cs[i].Health
			}
			return fmt.Errorf("trivy-adapter not healthy after %s: %s", r.o.Timeout, state)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(r.o.Interval):
		}
	}
	if want == "" {
		return nil
	}
	return waitAdapterDB(ctx, r.o.Engine, want, time.Until(deadline), r.o.Interval)
}

// rollBack swaps the first swapped DBs back and starts the adapter on them.
func (r *Refresh) rollBack(ctx context.Context, swapped int, cause error, logPath string) error {
	p := r.plan
	fmt.Fprintf(r.o.Out, "Rolling back to the previous DB...\n")
	var cmds []string
	var err error
	r.o.Engine.Compose(ctx, p.Compose, r.in.Dir, "stop", adapterContainer)
	for _, d := range p.DBs[:swapped] {
		failed := d.Dir + ".failed-" + r.tag
		if d.Installed == "" {
			err = errors.Join(err, os.Rename(d.Dir, failed))
			cmds = append(cmds, fmt.Sprintf("mv %s %s", d.Dir, failed))
			continue
		}
		if e := os.Rename(d.Dir, failed); e != nil {
			err = errors.Join(err, e)
		} else if e := os.Rename(d.Previous, d.Dir); e != nil {
			err = errors.Join(err, e)
		}
		cmds = append(cmds, fmt.Sprintf("mv %s %s && mv %s %s", d.Dir, failed, d.Previous, d.Dir))
	}
	cmds = append(cmds, fmt.Sprintf("cd %s && %s start %s", r.in.Dir, p.Compose.Name(), adapterContainer))
	if err == nil {
		want := ""
		for _, d := range p.DBs[:swapped] {
			if d.Kind == payload.ScanDBTrivy {
				want = d.Installed
			}
		}
		err = r.startAndWait(ctx, want)
	}
	if err != nil {
		fmt.Fprintf(r.log, "rollback failed: %v\n", err)
		return &RefreshFailedError{Err: cause, Commands: cmds, Log: logPath}
	}
	return &RefreshFailedError{Err: cause, RolledBack: true, Log: logPath}
}

// removeOlderPrevious removes the "<dir>.previous-*" of earlier refreshes, keeping keep: ours
// by name, and one previous DB is enough to go back.
func removeOlderPrevious(dir, keep string) []string {
	old, _ := filepath.Glob(dir + ".previous-*")
	var removed []string
	for _, o := range old {
		if o != keep && os.RemoveAll(o) == nil {
			removed = append(removed, o)
		}
	}
	return removed
}
