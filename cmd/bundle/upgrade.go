package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/selfextract"
	"github.com/harborbundle/bundle/sign"
	"github.com/harborbundle/bundle/upgrade"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// The upgrade is the .run's own action; `bundle upgrade --bundle FILE` runs the same for a
// bundle that is not the running binary; rollback and status read the journal.
func init() {
	toolVerbs = append(toolVerbs, newUpgradeCmd)
	runVerbs = append(runVerbs, newRollbackCmd, newStatusCmd)
	runDefault = func(a *app, root *cobra.Command) {
		f := &upgradeFlags{}
		f.bind(root.Flags())
		root.Long += upgradeHelp
		root.RunE = func(cmd *cobra.Command, _ []string) error {
			return a.runUpgrade(cmd.Context(), a.self, f)
		}
	}
}

const upgradeHelp = `

Run without a command, it upgrades the Harbor on this host to the release it carries:
verify -> detect -> preflight -> plan (confirm) -> stop -> backup -> load -> migrate -> install
-> health. Every check runs before anything changes; a failure after the stop rolls back.

  $ sudo ./harbor-upgrade-1.10.run --dry-run      # plan and every check, changes nothing
  $ sudo ./harbor-upgrade-1.10.run                # asks before changing anything
  $ sudo ./harbor-upgrade-1.10.run --yes -o json  # for scripts
  $ sudo ./harbor-upgrade-1.10.run --resume       # finish an upgrade that was interrupted
  $ sudo ./harbor-upgrade-1.10.run rollback       # return to the version before the upgrade
  $ ./harbor-upgrade-1.10.run status              # the journal and the backups on disk

A Trivy DB-only .run (bundle build --trivy-db-only: harbor-trivy-db-YYYYMMDD.run) instead
refreshes the vulnerability DB of the running 2.x Harbor: verify, stop only trivy-adapter, swap
the DB (the previous one kept beside it), start it and check it serves the new DB, or swap back.
It refuses a DB older than the installed one unless --force.`

// upgradeFlags are the flags of the upgrade, bound to the .run root and to `bundle upgrade`.
type upgradeFlags struct {
	yes, dryRun, noRollback, resume, quiet bool
	force                                  bool // a DB-only refresh: install a DB older than the installed one
	keepProgress                           bool
	output                                 string
	harborDir                              string // default: from running containers, else ./harbor
	backupDir                              string
	components                             string // comma list; default: what the install uses
	dropComponents                         string // comma list: consent to lose what the target drops
	healthTimeout                          time.Duration
	key                                    string
}

func (f *upgradeFlags) bind(fs *pflag.FlagSet) {
	fs.BoolVarP(&f.yes, "yes", "y", false, "do not ask for confirmation")
	fs.BoolVar(&f.dryRun, "dry-run", false, "verify, detect, run every preflight check and print the plan; change nothing")
	fs.StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	fs.StringVar(&f.harborDir, "harbor-dir", "", "Harbor install dir (default: from the running containers, else ./harbor)")
	fs.StringVar(&f.backupDir, "backup-dir", upgrade.DefaultBackupDir, "where backups, the journal and the log go")
	fs.StringVar(&f.components, "components", "", "optional components for the new install: notary,clair,chartmuseum,trivy or none (default: what the install uses)")
	fs.StringVar(&f.dropComponents, "drop-components", "", "optional components in use that the new release no longer has (clair from 2.2, chartmuseum from 2.8, notary from 2.9), comma list: consent to lose what the plan says they hold")
	fs.DurationVar(&f.healthTimeout, "health-timeout", upgrade.DefaultHealthTimeout, "how long to wait for Harbor to be healthy (the first start after 1.8 syncs quotas)")
	fs.BoolVar(&f.noRollback, "no-rollback", false, "on failure, leave the host as it is instead of rolling back")
	fs.BoolVar(&f.keepProgress, "keep-progress", false, "multi-hop bundle: when a hop fails after an earlier one finished, stop on the last healthy hop instead of rolling back to the start")
	fs.BoolVar(&f.resume, "resume", false, "finish an upgrade that was interrupted, from its journal")
	fs.StringVar(&f.key, "key", "", "public key that must have signed the bundle (default: "+selfextract.TrustedKeyPath+" when it exists)")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no progress output")
	fs.BoolVar(&f.force, "force", false, "Trivy DB-only bundle: install its DB even when it is older than the installed one")
}

func (f *upgradeFlags) options(a *app, b *selfextract.Bundle, jsonOut bool) (upgrade.Options, error) {
	pr, err := b.OpenPayload()
	if err != nil {
		return upgrade.Options{}, refused(err)
	}
	if err := checkProvenance(a, b, pr.Manifest(), f.key); err != nil {
		return upgrade.Options{}, refused(err)
	}
	comps := splitList(f.components)
	return upgrade.Options{
		Bundle: pr,
		BundleRef: upgrade.BundleRef{Path: b.Path, Release: pr.Manifest().Release,
			ManifestSHA256: hex.EncodeToString(b.Trailer.ManifestSHA256[:])},
		HarborDir: f.harborDir, BackupDir: f.backupDir, Components: comps, DropComponents: splitList(f.dropComponents),
		HealthTimeout: f.healthTimeout, DryRun: f.dryRun, NoRollback: f.noRollback, Resume: f.resume, KeepProgress: f.keepProgress,
		Out: a.stderr, Progress: a.reporter(f.quiet || jsonOut),
	}, nil
}

// upgradeReport is the -o json document.
type upgradeReport struct {
	Plan   *upgrade.Plan   `json:"plan,omitempty"`
	Result *upgrade.Result `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
	Exit   int             `json:"exit_code"`
}

func (a *app) runUpgrade(ctx context.Context, b *selfextract.Bundle, f *upgradeFlags) (err error) {
	jsonOut, err := outputFlag(f.output)
	if err != nil {
		return err
	}
	opts, err := f.options(a, b, jsonOut)
	if err != nil {
		return err
	}
	if opts.Bundle.Manifest().Kind == payload.KindTrivyDBRefresh {
		return a.runRefresh(ctx, opts, f, jsonOut)
	}
	rep := &upgradeReport{}
	if jsonOut {
		defer func() {
			if err != nil {
				rep.Error, rep.Exit = err.Error(), exitCode(err)
			}
			writeJSON(a.stdout, rep)
		}()
	}
	u, err := upgrade.Prepare(ctx, opts)
	if u != nil && u.Plan() != nil {
		rep.Plan = u.Plan()
		if !jsonOut {
			u.Plan().WriteText(a.stdout)
		}
	}
	var already *harbor.AlreadyInstalledError
	if errors.As(err, &already) {
		fmt.Fprintln(a.stderr, already.Error())
		return nil
	}
	if err != nil {
		return err
	}
	defer u.Close()
	if f.dryRun {
		fmt.Fprintln(a.stderr, "Dry run: every check passed. Nothing was changed.")
		return nil
	}
	if !f.yes {
		if err := a.confirm("Proceed with the upgrade?"); err != nil {
			return err
		}
	}
	res, err := u.Execute(ctx)
	rep.Result = res
	if err == nil && !jsonOut {
		printResult(a.stdout, res)
	}
	return err
}

// confirm asks on a terminal; anywhere else it refuses, since nobody can answer.
func (a *app) confirm(question string) error {
	if f, ok := a.stdin.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return usagef("not asking on a non-terminal: pass --yes to go ahead (or --dry-run to only check)")
	}
	fmt.Fprintf(a.stderr, "%s [y/N] ", question)
	line, _ := bufio.NewReader(a.stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return refused(errors.New("not confirmed; nothing was changed"))
}

func printResult(w io.Writer, r *upgrade.Result) {
	fmt.Fprintf(w, "\nHarbor %s -> %s: %s in %s\n", r.From, r.To, r.State, r.Took.Round(time.Second))
	if r.RollbackOf == "" { // a rollback's summary is its own steps
		width := 8 // a chain's steps are "v2.15.2/stop-hop": the column is as wide as the longest
		for _, s := range r.Steps {
			width = max(width, len(s.Name))
		}
		for _, s := range r.Steps {
			fmt.Fprintf(w, "  %-*s %s\n", width, s.Name, s.Took.Round(time.Millisecond))
		}
	}
	for _, s := range r.Rollback {
		fmt.Fprintf(w, "  rollback %-14s %s\n", s.Name, s.Took.Round(time.Millisecond))
	}
	if r.RollbackOf == "" && (r.CountsBefore != nil || r.CountsAfter != nil) {
		fmt.Fprintf(w, "Data:   before %s; after %s\n", r.CountsBefore, r.CountsAfter)
	}
	fmt.Fprintf(w, "Backup: %s\nLog:    %s\n", r.BackupDir, r.Log)
	if r.RollbackOf == "" {
		fmt.Fprintf(w, "To roll back: rollback --backup %s\n", r.ID)
	}
}

func newUpgradeCmd(a *app) *cobra.Command {
	f := &upgradeFlags{}
	var file string
	cmd := &cobra.Command{
		Use:   "upgrade --bundle FILE",
		Short: "Upgrade the Harbor on this host from a bundle file (what running the .run does)",
		Long: `Upgrade the Harbor on this host from a bundle given as a file (or its parts), exactly as
running the .run itself does: for a .run that cannot be executed (noexec mount) or that
was unpacked next to a newer bundle binary.` + upgradeHelp + "\n\n" + exitStatusHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usagef("--bundle FILE is required")
			}
			b, err := selfextract.OpenAny(strings.Split(file, ","))
			if err != nil {
				return refused(err)
			}
			defer b.Close()
			return a.runUpgrade(cmd.Context(), b, f)
		},
	}
	cmd.Flags().StringVar(&file, "bundle", "", "the .run file (or its parts, comma separated)")
	f.bind(cmd.Flags())
	return cmd
}

func newRollbackCmd(a *app) *cobra.Command {
	var (
		id, backupDir, harborDir, output string
		yes, quiet                       bool
		healthTimeout                    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "rollback [--backup ID]",
		Short: "Return Harbor to the version and data before an upgrade, from its backup",
		Long: `Restore the state before an upgrade from its backup: the new install is stopped and kept as
evidence, the old install dir, database and secret trees are restored after their checksums
were verified, and the old install.sh runs with its old flags. Without --backup, the
unfinished upgrade is rolled back, else the latest one. A backup whose checksums
no longer match is refused, and nothing is changed.

  $ sudo ./harbor-upgrade-1.10.run status
  $ sudo ./harbor-upgrade-1.10.run rollback --backup 20261125-180000-v1.9.4-to-v1.10.0

` + exitStatusHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			jsonOut, err := outputFlag(output)
			if err != nil {
				return err
			}
			j, err := upgrade.FindBackup(backupDir, id)
			if err != nil {
				return err
			}
			if harborDir != "" && !sameAbs(harborDir, j.InstallDir) {
				return usagef("--harbor-dir %s: backup %s is of %s", harborDir, j.ID, j.InstallDir)
			}
			fmt.Fprintf(a.stderr, "Rolling back %s: Harbor in %s returns to %s (now: %s, state %s).\n", j.ID, j.InstallDir, j.From, j.To, j.State)
			if !yes {
				if err := a.confirm("Proceed with the rollback?"); err != nil {
					return err
				}
			}
			res, err := upgrade.Rollback(cmd.Context(), upgrade.RollbackOptions{BackupDir: backupDir, ID: j.ID,
				HealthTimeout: healthTimeout, Out: a.stderr, Progress: a.reporter(quiet || jsonOut)})
			if jsonOut {
				rep := &upgradeReport{Result: res}
				if err != nil {
					rep.Error, rep.Exit = err.Error(), exitCode(err)
				}
				writeJSON(a.stdout, rep)
			} else if err == nil {
				printResult(a.stdout, res)
			}
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&id, "backup", "", "the backup to restore, as `status` lists it (default: the last upgrade)")
	fs.StringVar(&backupDir, "backup-dir", upgrade.DefaultBackupDir, "where the backups are")
	fs.StringVar(&harborDir, "harbor-dir", "", "the Harbor install dir (checked against the backup's)")
	fs.BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	fs.DurationVar(&healthTimeout, "health-timeout", upgrade.DefaultHealthTimeout, "how long to wait for the old Harbor to be healthy")
	fs.StringVarP(&output, "output", "o", "text", "output format: text or json")
	fs.BoolVarP(&quiet, "quiet", "q", false, "no progress output")
	return cmd
}

func newStatusCmd(a *app) *cobra.Command {
	var backupDir, output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the last upgrade's journal and the backups on disk",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			jsonOut, err := outputFlag(output)
			if err != nil {
				return err
			}
			st, err := upgrade.Status(backupDir)
			if err != nil {
				return err
			}
			if jsonOut {
				return writeJSON(a.stdout, st)
			}
			return st.WriteText(a.stdout)
		},
	}
	cmd.Flags().StringVar(&backupDir, "backup-dir", upgrade.DefaultBackupDir, "where the backups are")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func sameAbs(a, b string) bool {
	x, err1 := filepath.Abs(a)
	y, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && filepath.Clean(x) == filepath.Clean(y)
}

// splitList splits a comma list, dropping blanks: "clair, notary" -> [clair notary].
func splitList(s string) []string {
	var out []string
	for _, c := range strings.Split(s, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// hostRoot is the directory the host's own configuration (the trusted key) is read under:
// "/" on a real host; tests point it at a temporary directory.
var hostRoot = "/"

// checkProvenance runs before anything on the host changes: the program part of the file must
// match the manifest, and the manifest must be signed by the trusted key when one is configured
// (--key or /etc/harbor-bundle/trusted.pub). Without a trusted key an unsigned bundle runs, with
// a warning that says how to require signatures.
func checkProvenance(a *app, b *selfextract.Bundle, m *payload.Manifest, keyPath string) error {
	if keyPath == "" {
		def := filepath.Join(hostRoot, selfextract.TrustedKeyPath)
		switch _, err := os.Stat(def); {
		case err == nil:
			keyPath = def
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("reading trusted key %s: %w", def, err)
		}
	}
	var key *sign.PublicKey
	var source string
	if keyPath != "" {
		var err error
		if key, source, err = selfextract.TrustedKey(keyPath); err != nil {
			return err
		}
	}
	prov, err := b.CheckProvenance(m, key)
	switch {
	case err != nil:
		return err
	case prov.Checked:
		fmt.Fprintf(a.stderr, "Signature: valid, key ID %s (%s)\n", prov.Signer, source)
	case prov.Signer == "":
		fmt.Fprintf(a.stderr, "WARNING: this bundle is unsigned and no trusted key is configured; its origin is not proven.\n"+
			"         To require signed bundles, install the builder's public key as %s.\n", selfextract.TrustedKeyPath)
	default:
		fmt.Fprintf(a.stderr, "WARNING: this bundle is signed by key ID %s, but no trusted key is configured to check it (--key or %s).\n", prov.Signer, selfextract.TrustedKeyPath)
	}
	return nil
}
