package upgrade

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/harborbundle/bundle/internal/atomicfile"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/harborbundle/bundle/harbor"
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

// migrate lays out the new install dir from the bundle's installer files, puts the old
// harbor.yml through the migrator and checks it came out at the target `_version`. The new
// dir replaces the old (already in the backup) only when everything worked.
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
	oldCfg := filepath.Join(j.Dir(), "harbor", "harbor.yml")
	if err := copyFile(oldCfg, filepath.Join(stage, "harbor.yml")); err != nil {
		return fmt.Errorf("copying the old harbor.yml: %w", err)
	}
	migrated, err := u.runMigrator(ctx, filepath.Join(stage, "harbor.yml"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(stage, "harbor.yml"), migrated, 0o644); err != nil {
		return err
	}
	if err := os.Rename(stage, j.InstallDir); err != nil {
		return fmt.Errorf("putting the new install dir in place: %w", err)
	}
	return atomicfile.SyncDir(filepath.Dir(j.InstallDir))
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

// runMigrator migrates the harbor.yml at input and returns the result, which must carry the
// target `_version`: the migrator exits 0 also when it did nothing.
func (u *Upgrade) runMigrator(ctx context.Context, input string) ([]byte, error) {
	out := filepath.Join(u.journal.Dir(), "migrate-out")
	if err := os.RemoveAll(out); err != nil {
		return nil, err
	}
	if err := os.Mkdir(out, 0o700); err != nil {
		return nil, err
	}
	mig := u.manifest.Migration
	spec := RunSpec{Image: mig.Image, Network: "none", Env: []string{"SKIP_CONFIRM=y"},
		Stdin: strings.NewReader("y\n"), Stdout: u.log, Stderr: u.log}
	switch mig.Method {
	case harbor.MethodMigrator, "":
		spec.Args = mig.Args
		spec.Mounts = []Mount{{Host: input, Container: migratorInput}, {Host: out, Container: migratorOutDir}}
	case harbor.MethodPrepare:
		// 2.x: prepare resolves host paths under /hostfs.
		spec.Args = append(append([]string(nil), mig.Args...), "-i", input, "-o", filepath.Join(out, "harbor.yml"))
		spec.Mounts = []Mount{{Host: filepath.Dir(input), Container: "/hostfs" + filepath.Dir(input)}, {Host: out, Container: "/hostfs" + out}}
	default:
		return nil, fmt.Errorf("unknown migration method %q in the bundle", mig.Method)
	}
	if len(spec.Args) == 0 && mig.Method != harbor.MethodPrepare {
		spec.Args = []string{"--cfg", "up"}
	}
	fmt.Fprintf(u.log, "migrating harbor.yml with %s %s\n", mig.Image, strings.Join(spec.Args, " "))
	if err := u.o.Engine.Run(ctx, spec); err != nil {
		return nil, fmt.Errorf("migrating harbor.yml: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(out, "harbor.yml"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the migrator exited 0 but wrote no harbor.yml: nothing was migrated")
	}
	if err != nil {
		return nil, err
	}
	c, err := harbor.ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("the migrated harbor.yml does not parse: %w", err)
	}
	if got := c.ConfigVersion(); got != u.targetConfig {
		return nil, fmt.Errorf("the migrator exited 0 but harbor.yml says _version %q, not %q: nothing was migrated", got, u.targetConfig)
	}
	return b, nil
}

// install runs the new install.sh with the old install's flags; its output goes to the log.
func (u *Upgrade) install(ctx context.Context) error {
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
