package upgrade

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/progress"
	"github.com/harborbundle/bundle/scandb"
)

// An upgrade bundle built with --with-trivy-db installs the DB it carries with the new release:
// preflight checks the layers and the space, backup copies the DB dirs there are, migrate sets
// harbor.yml's trivy keys that keep Trivy offline (the catalog's trivy_keys of the target), the
// install step swaps the DBs in before install.sh, health waits until the adapter reports the
// carried DB, and a rollback puts the old DB dirs back.
//
// A bundle carrying a DB for a Harbor that does not use trivy is not refused: the DB is an
// optional part, as the images of a component the install does not use are; the plan warns that
// it is not installed and how to install trivy with it (--components trivy). Refusing would
// make an administrator rebuild a bundle to drop something harmless.

// carriedDBs are the DBs this upgrade installs: the bundle's, when the new install runs trivy.
func (u *Upgrade) carriedDBs() []payload.ScanDB {
	if !slices.Contains(u.components, harbor.Trivy) {
		return nil
	}
	return u.manifest.ScanDBs
}

// scanDBCheck is the preflight check of the carried DBs: each layer read through and checked
// (digest, files, metadata), the target knows the trivy keys, and the data volume has room for
// the unpacked DBs (the old ones stay until the swap) and the backup for the old ones.
func (u *Upgrade) scanDBCheck(f *facts) Check {
	c := Check{Name: "trivy db", OK: true}
	if len(u.manifest.ScanDBs) == 0 {
		c.Detail = "the bundle carries no vulnerability DB"
		return c
	}
	kinds := scanDBKinds(u.manifest.ScanDBs)
	if !slices.Contains(f.components, harbor.Trivy) {
		c.Warn = true
		c.Detail = fmt.Sprintf("the bundle carries %s but this Harbor does not use trivy: not installed (add --components trivy to install trivy with it)", kinds)
		return c
	}
	fail := func(format string, a ...any) Check {
		c.OK, c.Detail = false, fmt.Sprintf(format, a...)
		return c
	}
	if u.target == nil || len(u.target.TrivyKeys) == 0 {
		return fail("the catalog does not say which harbor.yml trivy keys %s reads; cannot keep Trivy offline", u.manifest.Release)
	}
	var need, old int64
	var parts []string
	for _, d := range u.manifest.ScanDBs {
		size, err := checkCarried(u.o.Bundle, d)
		if err != nil {
			return fail("%v", err)
		}
		need += size
		dir, err := scanDBDir(f.in.DataVolume, d.Kind)
		if err != nil {
			return fail("%v", err)
		}
		n, _ := treeBytes(dir)
		old += n
		s := fmt.Sprintf("%s updated %s", d.Kind, d.Metadata.UpdatedAt)
		if m, ok, err := scandb.Installed(trivyCache(f.in.DataVolume), d.Kind); err == nil && ok {
			s += " (installed: " + m.UpdatedAt + ")"
		}
		parts = append(parts, s)
	}
	free, err := freeBytes(f.in.DataVolume)
	if err := spaceErr("the vulnerability DB", withMargin(need), free, err, "data volume"); err != nil {
		return fail("%v", err)
	}
	if f.backupErr == nil && f.backupNeed+withMargin(old) > f.backupFree {
		return fail("the backup also needs %s for the installed DB; free space or choose another --backup-dir", progress.HumanBytes(old))
	}
	c.Detail = fmt.Sprintf("%s; installed with skip_update (%s), needs %s on the data volume, %s free",
		strings.Join(parts, ", "), strings.Join(u.target.TrivyKeys, ", "), progress.HumanBytes(withMargin(need)), progress.HumanBytes(free))
	return c
}

func scanDBKinds(ds []payload.ScanDB) string {
	var k []string
	for _, d := range ds {
		k = append(k, d.Kind)
	}
	return strings.Join(k, " and ")
}

// backupScanDBs journals which DBs this upgrade replaces and copies the installed ones into the
// backup (trees "trivy-db", "trivy-java-db"), so that a rollback restores them.
func (u *Upgrade) backupScanDBs(ctx context.Context) error {
	j := u.journal
	ds := u.carriedDBs()
	if len(ds) == 0 {
		return nil
	}
	if j.ScanDBs == nil {
		for _, d := range ds {
			j.ScanDBs = append(j.ScanDBs, d.Kind)
		}
		if err := j.Save(); err != nil {
			return err
		}
	}
	for _, d := range ds {
		name := scanDBTree(d.Kind)
		if j.Backup.Trees[name].Complete {
			continue
		}
		src, err := scanDBDir(j.DataVolume, d.Kind)
		if err != nil {
			return err
		}
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(u.log, "no %s installed in %s: nothing to back up\n", d.Kind, src)
			continue
		}
		if err := u.copyIntoBackup(ctx, name, src); err != nil {
			return err
		}
	}
	return nil
}

// setTrivyKeys turns on, in the new harbor.yml at cfg, the target's trivy keys that keep Trivy
// from downloading (skip_java_db_update only when the Java DB is carried: without it, Trivy
// still fetches the Java DB when a scan needs it), keeping the file's comments and mode.
func (u *Upgrade) setTrivyKeys(cfg string) error {
	ds := u.carriedDBs()
	if len(ds) == 0 || u.target == nil {
		return nil
	}
	var keys []string
	for _, k := range u.target.TrivyKeys {
		if k == harbor.TrivySkipJavaDBUpdate && !slices.ContainsFunc(ds, func(d payload.ScanDB) bool { return d.Kind == payload.ScanDBTrivyJava }) {
			continue
		}
		keys = append(keys, k)
	}
	c, err := harbor.ReadConfig(cfg)
	if err != nil {
		return err
	}
	changed, err := c.SetTrivyFlags(keys...)
	if err != nil || len(changed) == 0 {
		return err
	}
	b, err := c.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(cfg, b, 0o600); err != nil { // exists: keeps its mode
		return err
	}
	fmt.Fprintf(u.log, "harbor.yml: set trivy.%s: true (the carried DB is the only one this Harbor gets)\n", strings.Join(changed, ", trivy."))
	return nil
}

// installScanDBs swaps the carried DBs into the adapter's cache before install.sh starts the new
// adapter. Idempotent: a DB already installed with the carried UpdatedAt is left alone (a
// resumed install step); the replaced one is in the backup.
func (u *Upgrade) installScanDBs() error {
	j := u.journal
	for _, d := range u.carriedDBs() {
		cache := trivyCache(j.DataVolume)
		if m, ok, err := scandb.Installed(cache, d.Kind); err == nil && ok && m.UpdatedAt == d.Metadata.UpdatedAt {
			continue // installed before a crash, or the same DB was there already
		}
		stage, err := stageScanDB(u.o.Bundle, d, cache, j.ID)
		if err != nil {
			return err
		}
		target, err := scanDBDir(j.DataVolume, d.Kind)
		if err != nil {
			return err
		}
		if _, err := swapInto(stage, target, ""); err != nil { // the old one is in the backup
			return fmt.Errorf("putting the %s in place: %w", d.Kind, err)
		}
		fmt.Fprintf(u.log, "installed %s updated %s in %s\n", d.Kind, d.Metadata.UpdatedAt, target)
	}
	return nil
}

// checkScanDBs is the end of the health step: the new adapter must serve the carried DB (its
// metadata's updated-at); a Java DB, which the adapter does not report, must be in place.
func (u *Upgrade) checkScanDBs(ctx context.Context) error {
	j := u.journal
	for _, d := range u.carriedDBs() {
		if d.Kind == payload.ScanDBTrivy {
			if err := waitAdapterDB(ctx, u.o.Engine, d.Metadata.UpdatedAt, u.o.HealthTimeout, u.o.HealthInterval); err != nil {
				return err
			}
			fmt.Fprintf(u.o.Out, "    trivy-adapter serves the vulnerability DB updated at %s\n", d.Metadata.UpdatedAt)
			continue
		}
		m, ok, err := scandb.Installed(trivyCache(j.DataVolume), d.Kind)
		if err != nil || !ok || m.UpdatedAt != d.Metadata.UpdatedAt {
			return fmt.Errorf("the %s in %s is not the carried one (updated %s): found %v, %v", d.Kind, trivyCache(j.DataVolume), d.Metadata.UpdatedAt, m.UpdatedAt, err)
		}
	}
	return nil
}

// restoreScanDBs is the rollback of installScanDBs: each DB dir the upgrade replaced gets its
// backup back; one that was not there before is moved into the backup as evidence, leaving the
// old Harbor as it was.
func restoreScanDBs(ctx context.Context, env rollbackEnv, j *Journal) error {
	for _, kind := range j.ScanDBs {
		target, err := scanDBDir(j.DataVolume, kind)
		if err != nil {
			return err
		}
		name := scanDBTree(kind)
		if rec, ok := j.Backup.Trees[name]; ok && rec.Complete {
			if err := restoreTree(ctx, env, j, name, rec, target, false); err != nil {
				return err
			}
			continue
		}
		if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		evidence := uniquePath(filepath.Join(j.Dir(), "failed-data", name))
		if err := os.MkdirAll(filepath.Dir(evidence), 0o700); err != nil {
			return err
		}
		if err := moveDir(target, evidence); err != nil {
			return fmt.Errorf("removing the %s the upgrade installed: %w", kind, err)
		}
		fmt.Fprintf(env.log, "moved the %s the upgrade installed (there was none before) to %s\n", kind, evidence)
	}
	return nil
}
