package upgrade

import (
	"context"
	"errors"
	"fmt"
	"github.com/harborbundle/bundle/progress"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/payload"
)

// Minimum tool versions Harbor 1.x's install.sh accepts.
const (
	minDocker  = "17.06"
	minCompose = "1.18"
)

// PreflightError lists every failed check; nothing was changed.
type PreflightError struct{ Failed []Check }

func (e *PreflightError) Error() string {
	var parts []string
	for _, c := range e.Failed {
		parts = append(parts, c.Name+": "+c.Detail)
	}
	return "refusing to upgrade, nothing was changed: " + strings.Join(parts, "; ")
}

// ExitCode: refused before any change.
func (e *PreflightError) ExitCode() int { return 2 }

// facts are what preflight measured; evaluate turns them into checks. Split so that every
// decision can be tested without Docker.
type facts struct {
	in       *Install
	manifest *payload.Manifest
	// components the new install will use, and an error when the bundle cannot provide them.
	components    []string
	componentsErr error
	docker        string
	dockerErr     error
	// compose is the standalone docker-compose's version, plugin the `docker compose`
	// plugin's; target and old are the catalog's entries of the two releases (nil: unknown),
	// whose install.sh rules choose the tool. evaluate fills composeOld and composeNew.
	compose, plugin        string
	composeErr, pluginErr  error
	target, old            *harbor.Release
	composeOld, composeNew ComposeTool
	euid                   int
	backupNeed             int64
	backupFree             int64
	backupErr              error
	imagesNeed             int64
	imagesFree             int64
	imagesErr              error
	configErr              error
	// installFiles are the files harbor.yml names inside the install dir (carried across);
	// installFilesErr names every such key that points at nothing.
	installFiles    []InstallFile
	installFilesErr error
	missingOld      []string
	dbErr           error
	lockErr         error
	busyPorts       []int
	openJournal     *Journal
	backupDir       string
	// postgres is the plan's line for what the new harbor-db does with the data found in
	// data_volume/database; postgresErr why it must not start on it (see postgresStep).
	postgres    string
	postgresErr error
	// via is the catalog's chain of releases from the installed version to the target (their
	// lines, in order), for a refusal's advice; nil when one hop will do or the catalog is silent.
	via []string
	// drops are the optional components in use that the target no longer has; dropsAllowed
	// what --drop-components names.
	drops        []harbor.Drop
	dropsAllowed []string
	// httpsNeed are the components of the new install whose prepare needs https in harbor.yml
	// (the catalog's https_required_for), httpsErr the refusal when harbor.yml has none.
	httpsNeed []string
	httpsErr  error
}

// evaluate decides every check from the facts; all of them, so one run names every problem.
func evaluate(f *facts) []Check {
	var cs []Check
	add := func(name string, err error, okDetail string) {
		if err != nil {
			cs = append(cs, Check{Name: name, Detail: err.Error()})
			return
		}
		cs = append(cs, Check{Name: name, OK: true, Detail: okDetail})
	}
	add("upgrade path", pathErr(f.in.Version, f.manifest, f.via), fmt.Sprintf("%s -> %s is supported by this bundle", f.in.Version, f.manifest.Release))
	add("components", f.componentsErr, componentsText(f.components, flagsFor(f.components)))
	add("docker", versionErr("docker", f.docker, f.dockerErr, minDocker), f.docker+" (>= "+minDocker+")")
	var composeErr error
	f.composeOld, f.composeNew, composeErr = composeTools(f.in, f.old, f.target,
		composeHost{plugin: f.plugin, pluginErr: f.pluginErr, standalone: f.compose, standaloneErr: f.composeErr})
	add("compose", composeErr, fmt.Sprintf("new install: %s; stopping %s: %s", f.composeNew, f.in.Version, f.composeOld))
	var rootErr error
	if f.euid != 0 {
		rootErr = errors.New("must run as root (it stops containers, moves the install dir and restores owners); run it with sudo")
	}
	add("root", rootErr, "running as root")
	add("backup place", backupPlaceErr(f.in, f.backupDir), "outside the install dir and the trees it backs up")
	add("backup space", spaceErr("the backup", f.backupNeed, f.backupFree, f.backupErr, "--backup-dir"), fmt.Sprintf("needs %s, %s free", progress.HumanBytes(f.backupNeed), progress.HumanBytes(f.backupFree)))
	add("image space", spaceErr("the images", f.imagesNeed, f.imagesFree, f.imagesErr, "docker's root dir"), fmt.Sprintf("needs %s, %s free", progress.HumanBytes(f.imagesNeed), progress.HumanBytes(f.imagesFree)))
	add("database data", f.postgresCheck(), f.postgres)
	add("dropped components", dropsErr(f.drops, f.dropsAllowed), dropsText(f.drops))
	add("https", f.httpsErr, httpsText(f.httpsNeed, f.target))
	add("harbor.yml", f.configErr, "parses and has every key the migrator needs")
	add("harbor.yml files", f.installFilesErr, installFilesText(f.installFiles))
	var oldErr error
	if len(f.missingOld) > 0 {
		oldErr = fmt.Errorf("the images of the running %s are missing locally (%s); a rollback would need them: load them from its offline installer (docker load -i harbor.%s.tar.gz) and run again",
			f.in.Version, strings.Join(f.missingOld, ", "), f.in.Version)
	}
	add("old images", oldErr, fmt.Sprintf("all %d images of %s present (rollback needs them)", len(f.in.Images), f.in.Version))
	var notChecked *DBNotCheckedError
	if errors.As(f.dbErr, &notChecked) {
		cs = append(cs, Check{Name: "database", OK: true, Warn: true, Detail: notChecked.Error()})
	} else {
		add("database", f.dbErr, "schema_migrations: no dirty schema migration")
	}
	add("lock", f.lockErr, "no other upgrade running")
	var portErr error
	if len(f.busyPorts) > 0 {
		portErr = fmt.Errorf("port(s) %s are used by something other than Harbor; free them and run again", joinInts(f.busyPorts))
	}
	add("ports", portErr, "the ports Harbor needs are free once it is stopped")
	var jErr error
	if j := f.openJournal; j != nil {
		jErr = openJournalErr(j)
	}
	add("journal", jErr, "no unfinished upgrade")
	return cs
}

// postgresCheck: a facts value that never looked at the data is a failure, not a pass.
func (f *facts) postgresCheck() error {
	if f.postgres == "" && f.postgresErr == nil {
		return errors.New("the PostgreSQL data in data_volume/database was not checked")
	}
	return f.postgresErr
}

// pathErr allows exactly the versions the bundle says it upgrades from. A refusal names via,
// the catalog's releases to go through, when it knows them; else the bundle's oldest line.
func pathErr(installed string, m *payload.Manifest, via []string) error {
	iv, err := harbor.ParseVersion(installed)
	if err != nil {
		return err
	}
	tv, err := harbor.ParseVersion(m.Release)
	if err != nil {
		return err
	}
	switch c := iv.Compare(tv); {
	case c == 0:
		return &harbor.AlreadyInstalledError{Version: m.Release}
	case c > 0:
		return &harbor.PathError{From: installed, To: m.Release, Reason: "Harbor does not support downgrades; to go back, use `rollback` with the backup taken before the upgrade"}
	}
	for _, f := range m.FromVersions {
		if fv, err := harbor.ParseVersion(f); err == nil && fv == iv {
			return nil
		}
	}
	oldest := oldestFrom(m.FromVersions)
	e := &harbor.PathError{From: installed, To: m.Release, Reason: "this bundle upgrades from " + strings.Join(m.FromVersions, ", ")}
	switch {
	case len(via) > 0:
		e.Via = via
	case oldest != nil && iv.Compare(*oldest) < 0:
		e.Via = []string{fmt.Sprintf("v%d.%d.x", oldest.Major, oldest.Minor)}
	}
	return e
}

func oldestFrom(vs []string) *harbor.Version {
	var out *harbor.Version
	for _, s := range vs {
		v, err := harbor.ParseVersion(s)
		if err == nil && (out == nil || v.Compare(*out) < 0) {
			out = &v
		}
	}
	return out
}

// backupPlaceErr refuses a backup dir inside what it backs up: the install dir cannot be moved
// into itself, and a copy of the database inside the database copies itself.
func backupPlaceErr(in *Install, backupDir string) error {
	if backupDir == "" {
		return nil
	}
	b, err := filepath.Abs(backupDir)
	if err != nil {
		return err
	}
	for _, p := range []string{in.Dir, filepath.Join(in.DataVolume, "database"), filepath.Join(in.DataVolume, "secret")} {
		if p != "" && (b == p || strings.HasPrefix(b, p+string(filepath.Separator))) {
			return fmt.Errorf("--backup-dir %s is inside %s, which it backs up; choose a directory outside it", b, p)
		}
	}
	return nil
}

func versionErr(tool, have string, err error, min string) error {
	if err != nil {
		return fmt.Errorf("%s is not usable: %v", tool, err)
	}
	hv, err := harbor.ParseVersion(looseVersion(have))
	mv, _ := harbor.ParseVersion(looseVersion(min))
	if err != nil {
		return fmt.Errorf("cannot read the %s version %q", tool, have)
	}
	if hv.Compare(mv) < 0 {
		return fmt.Errorf("%s %s is too old: Harbor's install.sh needs %s or newer", tool, have, min)
	}
	return nil
}

// looseVersion turns "17.06.2-ce", "20.10.24+dfsg1" or "1.18" into a three-part version.
func looseVersion(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	if i := strings.IndexAny(s, "-+ ,"); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	for len(parts) < 3 {
		parts = append(parts, "0")
	}
	for i, p := range parts[:3] {
		n, _ := strconv.Atoi(p) // "06" -> 6
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts[:3], ".")
}

func spaceErr(what string, need, free int64, err error, where string) error {
	if err != nil {
		return fmt.Errorf("cannot measure free space for %s: %v", what, err)
	}
	if need > free {
		return fmt.Errorf("%s needs %s but only %s is free; free space or choose another %s", what, progress.HumanBytes(need), progress.HumanBytes(free), where)
	}
	return nil
}

func joinInts(ns []int) string {
	var s []string
	for _, n := range ns {
		s = append(s, strconv.Itoa(n))
	}
	return strings.Join(s, ", ")
}

func flagsFor(components []string) []string {
	var flags []string
	for _, c := range components {
		flags = append(flags, "--with-"+c)
	}
	return flags
}

// chooseComponents: the install's own by default, else the explicit list; either must be what
// the bundle carries and what the new install.sh accepts.
// The components the target drops are left out (the "dropped components" check asks for the
// administrator's consent), and a flag the target's install.sh refuses is never passed.
func chooseComponents(in *Install, m *payload.Manifest, target *harbor.Release, want []string) ([]string, error) {
	var comps []string
	for _, c := range in.Components {
		if target == nil || slices.Contains(target.Components(), c) {
			comps = append(comps, c)
		}
	}
	if len(want) > 0 {
		comps = nil
		for _, c := range want {
			if c != "none" && c != harbor.Core {
				comps = append(comps, c)
			}
		}
	}
	have := map[string]bool{}
	for _, c := range m.Components {
		have[c] = true
	}
	var missing []string
	for _, c := range comps {
		if !have[c] {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return comps, fmt.Errorf("this bundle does not carry %s (it has %s); build one with --components %s",
			strings.Join(missing, ", "), strings.Join(m.Components, ", "), strings.Join(comps, ","))
	}
	flags := map[string]bool{}
	for _, f := range m.InstallFlags {
		flags[f] = true
	}
	for _, f := range flagsFor(comps) {
		if target != nil && slices.Contains(target.RefusedFlags, f) {
			return comps, fmt.Errorf("install.sh of %s refuses %s", m.Release, f)
		}
		if !flags[f] {
			return comps, fmt.Errorf("install.sh of %s does not accept %s", m.Release, f)
		}
	}
	return comps, nil
}

// configCheck: harbor.yml parses and carries what the migrator's templates read.
// The check is the one of the program that will migrate it, as the bundle's manifest names it:
// the 1.x harbor-migrator's templates, or the target release's own `prepare migrate` chain.
func configCheck(in *Install, m *payload.Manifest, targetConfigVersion string) error {
	if in.Legacy {
		return fmt.Errorf("%s is a harbor.cfg (Harbor 1.7 or older); upgrade to v1.8.x first", in.ConfigPath())
	}
	c, err := harbor.ReadConfig(in.ConfigPath())
	if err != nil {
		return err
	}
	if targetConfigVersion == "" {
		return nil
	}
	if m != nil && m.Migration.Method == harbor.MethodPrepare {
		return c.CheckForPrepareMigrate(m.Release)
	}
	return c.CheckForMigrator(targetConfigVersion)
}

// installFilesCheck lists the files harbor.yml names inside the install dir, which the migrate
// step carries from the backup into the new install dir, and fails on any it names that is missing.
func installFilesCheck(in *Install) ([]InstallFile, error) {
	if in.Legacy {
		return nil, nil // refused by the harbor.yml check
	}
	b, err := os.ReadFile(in.ConfigPath())
	if err != nil {
		return nil, nil // the harbor.yml check says why
	}
	return installFiles(b, in.Dir, in.Dir)
}

func installFilesText(files []InstallFile) string {
	if len(files) == 0 {
		return "every file it names exists; none is inside the install dir"
	}
	return "every file it names exists; carried into the new install dir: " + describeFiles(files)
}

// gatherFacts measures everything preflight decides on. It changes nothing.
func gatherFacts(ctx context.Context, o *Options, in *Install, m *payload.Manifest, target *harbor.Release, targetConfig string) *facts {
	f := &facts{in: in, manifest: m, euid: os.Geteuid(), backupDir: o.BackupDir, dropsAllowed: o.DropComponents, target: target}
	if o.Catalog != nil {
		f.old, _ = o.Catalog.Get(in.Version)
		var pe *harbor.PathError
		if target != nil && errors.As(o.Catalog.CanUpgrade(in.Version, target), &pe) {
			f.via = pe.Via
		}
	}
	f.drops, f.componentsErr = droppedInUse(o.Catalog, in, target)
	if f.componentsErr == nil {
		f.components, f.componentsErr = chooseComponents(in, m, target, o.Components)
	}
	f.httpsNeed, f.httpsErr = httpsCheck(in, target, f.components)
	majors, err := pgClusters(in.DataVolume)
	f.postgres, f.postgresErr = postgresStep(majors, err, target, o.Catalog)
	f.docker, f.dockerErr = o.Engine.Version(ctx)
	f.compose, f.composeErr = o.Engine.ComposeVersion(ctx)
	f.plugin, f.pluginErr = o.Engine.PluginComposeVersion(ctx)

	need := int64(0)
	for _, t := range []string{filepath.Join(in.DataVolume, "database"), filepath.Join(in.DataVolume, "secret")} {
		n, err := treeBytes(t)
		if err != nil {
			f.backupErr = err
		}
		need += n
	}
	if !sameFilesystem(in.Dir, o.BackupDir) {
		n, err := treeBytes(in.Dir)
		if err != nil {
			f.backupErr = err
		}
		need += n
	}
	f.backupNeed = withMargin(need)
	if f.backupErr == nil {
		f.backupFree, f.backupErr = freeBytes(o.BackupDir)
	}
	f.configErr = configCheck(in, m, targetConfig)
	f.installFiles, f.installFilesErr = installFilesCheck(in)
	old := oldImages(in)
	ids, err := o.Engine.ImageIDs(ctx, old)
	for _, ref := range old {
		if err != nil || ids[ref] == "" {
			f.missingOld = append(f.missingOld, ref)
		}
	}
	if o.DBChecker != nil {
		f.dbErr = o.DBChecker.CheckDB(ctx, in)
	}
	f.lockErr = CheckLock(o.BackupDir)
	f.busyPorts = busyPorts(in)
	return f
}

// oldImages are what a rollback runs: the install's images and its prepare image (install.sh
// runs prepare; 1.7 had none).
func oldImages(in *Install) []string {
	imgs := append([]string(nil), in.Images...)
	if !in.Legacy {
		imgs = append(imgs, "goharbor/prepare:"+in.Version)
	}
	return imgs
}

// httpsCheck refuses, before any change, a new install whose prepare would refuse harbor.yml:
// the target's prepare needs https for some of the components it keeps (notary in 2.0-2.8,
// the catalog's https_required_for) and harbor.yml has no https. Unchecked, install.sh would
// fail after Harbor is stopped, and the upgrade would roll back. It returns the components
// that need https.
func httpsCheck(in *Install, target *harbor.Release, components []string) ([]string, error) {
	if target == nil || in.Legacy {
		return nil, nil
	}
	need := target.NeedsHTTPS(components)
	if len(need) == 0 {
		return nil, nil
	}
	c, err := harbor.ReadConfig(in.ConfigPath())
	if err != nil || c.HTTPSEnabled() {
		return need, nil // unreadable: the harbor.yml check says why
	}
	var rest []string
	for _, comp := range components {
		if !slices.Contains(need, comp) {
			rest = append(rest, comp)
		}
	}
	if len(rest) == 0 {
		rest = []string{"none"}
	}
	return need, fmt.Errorf("%s's prepare refuses %s without https, and %s has no https section: configure https there first (https: port, certificate, private_key, the files present on this host), or leave %s out of the new install with --components %s (what it holds is lost)",
		target.Version, strings.Join(need, ", "), in.ConfigPath(), strings.Join(need, ", "), strings.Join(rest, ","))
}

func httpsText(need []string, target *harbor.Release) string {
	if len(need) == 0 {
		return "no component of the new install needs https"
	}
	return fmt.Sprintf("harbor.yml has https on, as %s's prepare needs for %s", target.Version, strings.Join(need, ", "))
}
