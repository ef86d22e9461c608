package upgrade

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/internal/atomicfile"
	"github.com/harborbundle/bundle/payload"
)

// The harbor-migrator's fixed mount points. Mounted anywhere else, it finds nothing, says
// "Skip cfg up as no harbor.cfg in the path." and exits 0.
const (
	migratorInput  = "/harbor-migration/harbor-cfg/harbor.yml"
	migratorOutDir = "/harbor-migration/harbor-cfg-out"
)

// stagingDir is where the new install dir is laid out before it is renamed into place; the
// name carries the upgrade's id, so a leftover after a crash is recognisably ours.
func (u *Upgrade) stagingDir() string {
	d := u.journal.InstallDir
	return filepath.Join(filepath.Dir(d), "."+filepath.Base(d)+".new-"+u.journal.ID)
}

// migrate lays out the new install dir from the bundle's installer files, brings the old
// harbor.yml to the target `_version` (through the migrator only when it is older: a patch
// upgrade keeps it as it is), carries across the files harbor.yml names inside the old
// install dir, and checks the result. The new dir replaces the old (already in the backup)
// only when everything worked.
func (u *Upgrade) migrate(ctx context.Context) error {
	j := u.journal
	if _, err := os.Lstat(j.InstallDir); err == nil {
		// Renamed into place before a crash recorded it? Then it is migrated already.
		if c, err := harbor.ReadConfig(filepath.Join(j.InstallDir, "harbor.yml")); err == nil && c.ConfigVersion() == u.targetConfig {
			return nil
		}
		return fmt.Errorf("%s exists but is not the migrated new install; move it away and run again with --resume", j.InstallDir)
	}
	stage := u.stagingDir()
	if err := os.RemoveAll(stage); err != nil {
		return err
	}
	if err := u.layOut(stage); err != nil {
		return err
	}
	oldDir := u.previousInstallDir() // the original's in the backup, or a chain's hop before
	oldBytes, err := os.ReadFile(filepath.Join(oldDir, "harbor.yml"))
	if err != nil {
		return fmt.Errorf("reading the old harbor.yml from the backup: %w", err)
	}
	old, err := harbor.ParseConfig(oldBytes)
	if err != nil {
		return fmt.Errorf("the old harbor.yml in the backup: %w", err)
	}
	cfg := filepath.Join(stage, "harbor.yml")
	if err := copyFile(filepath.Join(oldDir, "harbor.yml"), cfg); err != nil {
		return fmt.Errorf("copying the old harbor.yml: %w", err)
	}
	if v := old.ConfigVersion(); v == u.targetConfig {
		fmt.Fprintf(u.log, "harbor.yml: already at _version %s, no migration needed; carried as it is\n", v)
	} else if err := u.migrateConfig(ctx, old, cfg); err != nil {
		return err
	}
	if err := u.setTrivyKeys(cfg); err != nil {
		return err
	}
	// harbor.yml holds passwords: the new one gets the old one's mode and owner back (the real
	// migrator's shutil.copy leaves it 0644 whatever it was).
	if err := keepModeAndOwner(filepath.Join(oldDir, "harbor.yml"), cfg); err != nil {
		return err
	}
	files, err := installFiles(oldBytes, j.InstallDir, oldDir)
	if err != nil {
		return fmt.Errorf("files harbor.yml names: %w", err)
	}
	if err := carryFiles(files, oldDir, stage); err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintf(u.log, "carried %s %s from the backup into the new install dir\n", f.Key, f.Path)
	}
	if err := os.Rename(stage, j.InstallDir); err != nil {
		return fmt.Errorf("putting the new install dir in place: %w", err)
	}
	return atomicfile.SyncDir(filepath.Dir(j.InstallDir))
}

// migrateConfig runs the migrator on the harbor.yml at cfg (a copy of old), undoes what the
// migrator is known to mangle, and leaves the result at cfg.
func (u *Upgrade) migrateConfig(ctx context.Context, old *harbor.Config, cfg string) error {
	outDir := filepath.Join(u.journal.Dir(), "migrate-out")
	migrated, err := migrateOnce(ctx, u.o.Engine, u.log, u.manifest.Migration, old, cfg, outDir, u.targetConfig)
	if err != nil {
		return err
	}
	return os.WriteFile(cfg, migrated, 0o600) // the file exists; its mode is set by the caller
}

// migrateOnce is one run of a release's migrator on the harbor.yml at input (a copy of old,
// which the 1.10 migrator may rewrite in place), its result checked, with what the migrator is
// known to mangle undone: the file the next install, or the next hop's migrator, reads. The
// upgrade's migrate step and a chain's rehearsal (chain_rehearse.go) both run it.
func migrateOnce(ctx context.Context, eng Engine, log io.Writer, mig payload.Migration, old *harbor.Config, input, outDir, target string) ([]byte, error) {
	migrated, err := runMigrator(ctx, eng, log, mig, input, outDir, target)
	if err != nil {
		return nil, err
	}
	c, err := harbor.ParseConfig(migrated)
	if err != nil {
		return nil, fmt.Errorf("the migrated harbor.yml does not parse: %w", err)
	}
	fixes, err := harbor.FixMigrated(old, c)
	if err != nil {
		return nil, fmt.Errorf("checking the migrated harbor.yml: %w", err)
	}
	for _, f := range fixes {
		fmt.Fprintf(log, "fixed the migrated harbor.yml: %s\n", f)
	}
	if len(fixes) > 0 {
		if migrated, err = c.Marshal(); err != nil {
			return nil, err
		}
	}
	return migrated, nil
}

// keepModeAndOwner gives dst the permission bits and owner of src.
func keepModeAndOwner(src, dst string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		if err := os.Lchown(dst, int(sys.Uid), int(sys.Gid)); err != nil {
			return err
		}
	}
	return os.Chmod(dst, st.Mode().Perm())
}

// layOut writes the bundle's installer/ files into dir with their modes.
func (u *Upgrade) layOut(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, e := range u.manifest.Entries {
		rel, ok := strings.CutPrefix(e.Path, "installer/")
		if !ok || rel == "" {
			continue
		}
		target := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := u.writeEntry(e.Path, target, fs.FileMode(e.Mode).Perm()); err != nil {
			return fmt.Errorf("laying out %s: %w", e.Path, err)
		}
	}
	return nil
}

func (u *Upgrade) writeEntry(path, target string, mode fs.FileMode) error {
	r, err := u.o.Bundle.OpenEntry(path)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil { // the entry's hash is checked at EOF
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil { // umask
		f.Close()
		return err
	}
	return f.Close()
}

// runMigrator migrates the harbor.yml at input with mig and returns what the migrator wrote,
// which must carry the target `_version`: the migrator exits 0 also when it did nothing.
// outDir is made afresh for the migrator's output.
//
// Where the result lands is the real code's rule: the 1.10 harbor-migrator writes to
// harbor-cfg-out/harbor.yml only when that file already exists, and otherwise rewrites its
// input in place (migrator.py, CfgMigrator); 2.x `prepare migrate` writes to -o. So the output
// file is created empty before the run, and when it is still empty afterwards the input is
// read back.
func runMigrator(ctx context.Context, eng Engine, log io.Writer, mig payload.Migration, input, outDir, target string) ([]byte, error) {
	before, err := os.ReadFile(input)
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(outDir); err != nil {
		return nil, err
	}
	if err := os.Mkdir(outDir, 0o700); err != nil {
		return nil, err
	}
	out := filepath.Join(outDir, "harbor.yml")
	if err := os.WriteFile(out, nil, 0o600); err != nil {
		return nil, err
	}
	spec, err := migratorSpec(mig, input, outDir, target)
	if err != nil {
		return nil, err
	}
	spec.Stdout, spec.Stderr = log, log
	fmt.Fprintf(log, "migrating harbor.yml with %s %s\n", spec.Image, strings.Join(spec.Args, " "))
	if err := eng.Run(ctx, spec); err != nil {
		return nil, fmt.Errorf("migrating harbor.yml: %w", err)
	}
	return migratedResult(before, input, out, target)
}

// migratorSpec is the container that migrates input, its result going to outDir/harbor.yml.
func migratorSpec(mig payload.Migration, input, outDir, target string) (RunSpec, error) {
	spec := RunSpec{Image: mig.Image, Network: "none", Env: []string{"SKIP_CONFIRM=y"}, Stdin: strings.NewReader("y\n")}
	switch mig.Method {
	case harbor.MethodMigrator, "":
		spec.Args = mig.Args
		if len(spec.Args) == 0 {
			spec.Args = []string{"--cfg", "up"}
		}
		spec.Mounts = []Mount{{Host: input, Container: migratorInput}, {Host: outDir, Container: migratorOutDir}}
	case harbor.MethodPrepare:
		// 2.x, as Harbor's upgrade guide runs it: `docker run -it --rm -v /:/hostfs
		// goharbor/prepare:vX migrate -i ${path to harbor.yml}`. Its get_realpath resolves
		// every -i/-o path under /hostfs when that exists, so both are host paths. -t is the
		// catalog's config_version, which is also the release's default: said explicitly so
		// that the `_version` read back afterwards is the one asked for.
		spec.Args = append([]string(nil), mig.Args...)
		if len(spec.Args) == 0 {
			spec.Args = []string{"migrate"}
		}
		spec.Args = append(spec.Args, "-i", input, "-o", filepath.Join(outDir, "harbor.yml"))
		if target != "" {
			spec.Args = append(spec.Args, "-t", target)
		}
		spec.Mounts = []Mount{{Host: "/", Container: "/hostfs"}}
	default:
		return RunSpec{}, fmt.Errorf("unknown migration method %q in the bundle", mig.Method)
	}
	return spec, nil
}

// migratedResult is what the migrator wrote: the output file, else the input when the
// migrator rewrote it in place. It must parse and carry the target `_version`.
func migratedResult(before []byte, input, out, target string) ([]byte, error) {
	b, err := os.ReadFile(out)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading the migrated harbor.yml: %w", err)
	}
	where := out
	if len(bytes.TrimSpace(b)) == 0 {
		if b, err = os.ReadFile(input); err != nil {
			return nil, err
		}
		if bytes.Equal(b, before) {
			return nil, fmt.Errorf("the migrator exited 0 but wrote no harbor.yml (neither %s nor its input changed): nothing was migrated; its output is in the upgrade log", out)
		}
		where = input
	}
	c, err := harbor.ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("the migrated harbor.yml (%s) does not parse: %w", where, err)
	}
	if got := c.ConfigVersion(); got != target {
		return nil, fmt.Errorf("the migrator exited 0 but %s says _version %q, not %q: nothing was migrated", where, got, target)
	}
	return b, nil
}

// install runs the new install.sh with the old install's flags; its output goes to the log.
func (u *Upgrade) install(ctx context.Context) error {
	if err := u.installScanDBs(); err != nil {
		return err
	}
	return runInstallSh(ctx, u.journal.InstallDir, u.journal.InstallFlags, u.log)
}

func runInstallSh(ctx context.Context, dir string, flags []string, log io.Writer) error {
	cmd := exec.CommandContext(ctx, "./install.sh", flags...)
	cmd.Dir = dir
	// install.sh rewrites hostname: in harbor.yml when $host is set; ours must not leak in.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "host=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var tail bytes.Buffer
	cmd.Stdout = io.MultiWriter(log, &tail)
	cmd.Stderr = io.MultiWriter(log, &tail)
	fmt.Fprintf(log, "$ cd %s && ./install.sh %s\n", dir, strings.Join(flags, " "))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("./install.sh %s in %s: %w: %s", strings.Join(flags, " "), dir, err, lastLine(tail.String()))
	}
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
