package roles

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The two docker-entrypoint.sh scripts of the 2.x harbor-db images that take the majors as
// arguments (../shared/harbor-real/db/<tag>/docker-entrypoint.sh), told apart by their OLD
// argument: only the 2.3-2.6 images (and 1.10.18/19) say "96", and only their script reads a 9.6
// cluster in the data directory's root. From 2.7 the script refuses that cluster instead.
var dbEntrypoints = map[bool]func(env *Env, l clusterLayout) (string, error){
	true:  entrypointFrom96,
	false: entrypointMajors,
}

// errReported is a failure the script has already printed.
var errReported = errors.New("reported")

// clusterLayout is where the entrypoint looks: $PGDATA and the majors it was given.
type clusterLayout struct {
	root, old, new string
	uid            int
}

// dir is ${PGDATA}/pg<major>, the scripts' PGDATAOLD / PGDATANEW.
func (l clusterLayout) dir(major string) string { return filepath.Join(l.root, "pg"+major) }

// shown is a host path as the container shows it (the scripts echo it).
func (l clusterLayout) shown(p string) string {
	rel, err := filepath.Rel(l.root, p)
	if err != nil || rel == "." {
		return pgData
	}
	return pgData + "/" + rel
}

// entrypoint runs the image's docker-entrypoint.sh for OLD NEW and opens the cluster it then
// starts postgres on; on failure it returns the script's exit code.
func entrypoint(env *Env, root string, uid int, old, new string) (*store, int) {
	l := clusterLayout{root: root, old: old, new: new, uid: uid}
	dir, err := dbEntrypoints[old == "96"](env, l)
	if err != nil {
		if err != errReported {
			fmt.Fprintln(env.Stdout, err)
		}
		return nil, exitFail
	}
	if err := checkDataDir(env, dir, l.shown(dir), uid, false); err != nil {
		fmt.Fprintln(env.Stderr, err)
		return nil, exitFail
	}
	s := &store{dir: dir}
	if err := s.readAll(l.shown(dir)); err != nil {
		fmt.Fprintln(env.Stderr, err)
		return nil, exitFail
	}
	return s, exitOK
}

// entrypointFrom96 is the 2.3-2.6 script (["96","13"]): a non-empty $PGDATA without pgNEW is
// upgraded from the 9.6 cluster in its root (or pg96); afterwards everything in the root but
// pgNEW is deleted (`find $PGDATA/* -prune ! -name pgNEW -exec rm -rf {} \;`: dot files stay).
// Any pgNEW directory, even one a killed upgrade left, is launched as it is.
func entrypointFrom96(env *Env, l clusterLayout) (string, error) {
	oldDir, newDir := l.dir(l.old), l.dir(l.new)
	if nonEmptyFile(filepath.Join(l.root, "PG_VERSION")) {
		oldDir = l.root
	}
	entries, err := os.ReadDir(l.root)
	if err != nil {
		return "", err
	}
	if len(entries) == 0 {
		return newDir, initPG(env, l, newDir, true)
	}
	if isDir(newDir) {
		fmt.Fprintln(env.Stdout, "no need to upgrade postgres, launch it.")
		return newDir, nil
	}
	if !isDir(oldDir) || !nonEmptyFile(filepath.Join(oldDir, "PG_VERSION")) {
		return "", fmt.Errorf("incorrect data: %s, make sure %s is not empty and with PG_VERSION inside.", l.shown(oldDir), l.shown(oldDir))
	}
	if err := upgradeCluster(env, l, oldDir, newDir, "remove the %s after fail to upgrade"); err != nil {
		return "", err
	}
	fmt.Fprintf(env.Stdout, "remove the %s after upgrade success.\n", l.shown(oldDir))
	if oldDir != l.root {
		return newDir, os.RemoveAll(oldDir)
	}
	for _, e := range entries { // read before pgNEW existed: all of it is the old cluster
		if !strings.HasPrefix(e.Name(), ".") && e.Name() != "pg"+l.new {
			if err := os.RemoveAll(filepath.Join(l.root, e.Name())); err != nil {
				return "", err
			}
		}
	}
	return newDir, nil
}

// entrypointMajors is the 2.7+ script (["","13"], ["13","14"], ["14","15"], ["15","18"]): it
// refuses a 9.6 cluster; without pgNEW/PG_VERSION it upgrades pgOLD when OLD is given and
// pgOLD/PG_VERSION exists, then deletes pgOLD, else it creates a new empty database. A pgNEW
// with PG_VERSION, even one a killed upgrade left, is launched as it is.
func entrypointMajors(env *Env, l clusterLayout) (string, error) {
	oldDir, newDir := l.dir(l.old), l.dir(l.new)
	if nonEmptyFile(filepath.Join(l.root, "PG_VERSION")) {
		fmt.Fprintf(env.Stdout, "Upgrading from PostgreSQL 9.6 to PostgreSQL %s is not supported in the current Harbor release.\n", l.new)
		return "", errors.New("You should upgrade to previous Harbor firstly, then upgrade to current release.")
	}
	if nonEmptyFile(filepath.Join(newDir, "PG_VERSION")) {
		return newDir, nil
	}
	if l.old != "" && nonEmptyFile(filepath.Join(oldDir, "PG_VERSION")) {
		fmt.Fprintf(env.Stdout, "upgrade DB from %s to %s\n", l.old, l.new)
		if err := upgradeCluster(env, l, oldDir, newDir, "remove the %s after fail to upgrade."); err != nil {
			return "", err
		}
		fmt.Fprintf(env.Stdout, "remove the %s after upgrade success.\n", l.shown(oldDir))
		return newDir, os.RemoveAll(oldDir)
	}
	fmt.Fprintf(env.Stdout, "init DB, DB version:%s\n", l.new)
	return newDir, initPG(env, l, newDir, true)
}

// pgVersionFile is what a cluster's PG_VERSION holds for a major as the arguments name it.
func pgVersionFile(major string) string {
	if major == "96" {
		return "9.6\n"
	}
	return major + "\n"
}

// initPG is initdb.sh's initPG DIR INITSQL: initdb writes PG_VERSION among its first files; with
// INITSQL the image's /docker-entrypoint-initdb.d/initial-registry.sql then creates the registry
// database with an empty schema_migrations table (schema 0: nothing for core to keep).
func initPG(env *Env, l clusterLayout, dir string, initSQL bool) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("initdb: error: directory %q exists but is not empty", l.shown(dir))
	}
	fmt.Fprintln(env.Stdout, `The files belonging to this database system will be owned by user "postgres".`)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("initdb: error: could not create directory %q: %w", l.shown(dir), err)
	}
	// In a container initdb runs as postgres, so the cluster is its own; an in-process test runs
	// as root pretending to be l.uid (runAsOwner) and gives it away as that would.
	if os.Geteuid() == 0 && l.uid != 0 {
		if err := os.Chown(dir, l.uid, l.uid); err != nil {
			return err
		}
	}
	if err := writeAtomic(filepath.Join(dir, "PG_VERSION"), []byte(pgVersionFile(l.new)), 0o600); err != nil {
		return err
	}
	if initSQL {
		fmt.Fprintln(env.Stdout, "/docker-entrypoint.sh: running /docker-entrypoint-initdb.d/initial-registry.sql")
		if err := writeAtomic(filepath.Join(dir, schemaFile), emptySchema(env), 0o600); err != nil {
			return err
		}
	}
	fmt.Fprintln(env.Stdout, "PostgreSQL init process complete; ready for start up.")
	return nil
}

// upgradeCluster is the scripts' `initPG $PGDATANEW false` then upgrade.sh (pg_upgrade in copy
// mode): the new cluster exists, without the registry database, for the whole upgrade (which
// takes FAKEHARBOR_PG_UPGRADE_MS, default 3000); the tables are copied at its end. Killed before
// that, the new cluster stays as it is and the old one intact: the scripts then launch the new
// one at the next start. On a failed upgrade the new cluster is removed (failMsg).
func upgradeCluster(env *Env, l clusterLayout, oldDir, newDir, failMsg string) error {
	if err := initPG(env, l, newDir, false); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "start to upgrade.")
	err := pgUpgrade(env, l, oldDir, newDir)
	if err == nil {
		fmt.Fprintln(env.Stdout, "success to upgrade.")
		return nil
	}
	fmt.Fprintln(env.Stdout, err)
	fmt.Fprintln(env.Stdout, "fail to upgrade.")
	fmt.Fprintf(env.Stdout, failMsg+"\n", l.shown(newDir))
	os.RemoveAll(newDir)
	return errReported
}

// pgUpgrade is pg_upgrade: it checks the old cluster is of the old binaries' major, then copies
// every table of the old cluster into the new one.
func pgUpgrade(env *Env, l clusterLayout, oldDir, newDir string) error {
	fmt.Fprintln(env.Stdout, "Performing Consistency Checks\n-----------------------------")
	got, err := os.ReadFile(filepath.Join(oldDir, "PG_VERSION"))
	if err != nil {
		return err
	}
	if string(got) != pgVersionFile(l.old) {
		return errors.New("old cluster data and binary directories are from different major versions")
	}
	fmt.Fprintln(env.Stdout, "Performing Upgrade\n------------------")
	time.Sleep(time.Duration(env.Int("FAKEHARBOR_PG_UPGRADE_MS", 3000)) * time.Millisecond)
	entries, err := os.ReadDir(oldDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".json") {
			data, err := os.ReadFile(filepath.Join(oldDir, e.Name()))
			if err != nil {
				return err
			}
			if err := writeAtomic(filepath.Join(newDir, e.Name()), data, 0o600); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(env.Stdout, "Upgrade Complete\n----------------")
	return nil
}

func nonEmptyFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Size() > 0
}
