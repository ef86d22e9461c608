package roles

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The real harbor-migrator's exit codes (migrator.py RC_*), which scripts and bundle rely on.
// cfg/run.py itself exits 1 on every failure; migrator.py turns any non-zero into RC_UP.
const (
	exitMigrateValidate = 101 // RC_VALIDATE: `test` found no input
	exitMigrateFailed   = 102 // RC_UP: `up` failed
	exitMigrateBackup   = 104 // RC_BACKUP
	exitMigrateRestore  = 105 // RC_RESTORE
	exitMigrateUsage    = 110 // RC_GEN: the last argument is no action, or no confirmation
	exitArgparse        = 2   // argparse's own exit for an unknown option
)

// The real mount points of harbor-migrator 1.x (migrator.py CfgMigrator).
const (
	migratorCfgDir    = "/harbor-migration/harbor-cfg"
	migratorOutputDir = "/harbor-migration/harbor-cfg-out"
	migratorBackupDir = "/harbor-migration/backup"
	migratorInput     = migratorCfgDir + "/harbor.yml"
	migratorOutput    = migratorOutputDir + "/harbor.yml"
)

// migratorArgs is migrator.py's command line: `[--db] [--cfg] [--version V] [--output] ACTION`.
// The action must be the last argument; `ACTION` alone means both --db and --cfg.
type migratorArgs struct {
	cfg, db, output bool
	target          string
	action          string
}

func isMigratorAction(s string) bool {
	return s == "up" || s == "backup" || s == "restore" || s == "test"
}

// parseMigratorOptions is the argparse part (everything before the action). It returns the
// exit code argparse would exit with (-1: go on).
func parseMigratorOptions(env *Env, opts []string, a *migratorArgs) int {
	long := []string{"--db", "--cfg", "--version", "--output", "--help"}
	for i := 0; i < len(opts); i++ {
		arg, value, hasValue := strings.Cut(opts[i], "=")
		name := ""
		if arg == "-h" {
			name = "--help"
		} else if strings.HasPrefix(arg, "--") && len(arg) > 2 {
			var matches []string
			for _, l := range long { // argparse accepts any unambiguous prefix
				if strings.HasPrefix(l, arg) {
					matches = append(matches, l)
				}
			}
			if len(matches) == 1 {
				name = matches[0]
			} else if len(matches) > 1 {
				return argparseError(env, fmt.Sprintf("ambiguous option: %s could match %s", arg, strings.Join(matches, ", ")))
			}
		}
		if name != "--version" && hasValue && name != "" {
			return argparseError(env, fmt.Sprintf("argument %s: ignored explicit argument '%s'", name, value))
		}
		switch name {
		case "--db":
			a.db = true
		case "--cfg":
			a.cfg = true
		case "--output":
			a.output = true
		case "--help":
			fmt.Fprintln(env.Stdout, migratorUsage+"\n\nmigrator of harbor")
			return exitOK
		case "--version":
			if !hasValue {
				if i+1 >= len(opts) || strings.HasPrefix(opts[i+1], "-") {
					return argparseError(env, "argument --version: expected one argument")
				}
				i++
				value = opts[i]
			}
			a.target = value
		default:
			return argparseError(env, "unrecognized arguments: "+strings.Join(opts[i:], " "))
		}
	}
	return -1
}

const migratorUsage = `usage: migrator.py [-h] [--db] [--cfg] [--version TARGET_VERSION] [--output]`

func argparseError(env *Env, msg string) int {
	fmt.Fprintf(env.Stderr, "%s\nmigrator.py: error: %s\n", migratorUsage, msg)
	return exitArgparse
}

// runMigrator is migrator.py (the image's entrypoint runs `python ./migrator.py "$@"`).
func runMigrator(env *Env, args []string) int {
	last := "migrator.py" // sys.argv[len(argv)-1] is the script itself when there are no arguments
	if len(args) > 0 {
		last = args[len(args)-1]
	}
	if !isMigratorAction(last) {
		fmt.Fprintln(env.Stdout, "Fail to parse input: the last parameter should in test:up:restore:backup")
		return exitMigrateUsage
	}
	if last == "up" && env.Getenv("SKIP_CONFIRM") != "y" {
		if code := confirm(env); code >= 0 {
			return code
		}
	}
	a := migratorArgs{action: last, db: true, cfg: true}
	if len(args) > 1 {
		a = migratorArgs{action: last}
		if code := parseMigratorOptions(env, args[:len(args)-1], &a); code >= 0 {
			return code
		}
	}
	c := newCfgMigrator(env, a)
	switch a.action {
	case "up":
		if a.db {
			fmt.Fprintln(env.Stdout, "The fake harbor-migrator does not migrate databases (since 1.9 harbor-core migrates its own schema); nothing done for --db.")
		}
		if a.cfg && !c.up() {
			return exitMigrateFailed
		}
	case "test":
		if a.cfg && !c.validate() {
			fmt.Fprintln(env.Stdout, "Fail to validate: please make sure your cfg path is correct.")
			return exitMigrateValidate
		}
	case "backup":
		if a.cfg && !c.backup() {
			return exitMigrateBackup
		}
	case "restore":
		if a.cfg && !c.restore() {
			return exitMigrateRestore
		}
	}
	if a.db && a.action != "up" {
		fmt.Fprintf(env.Stderr, "The fake harbor-migrator does not reproduce --db %s.\n", a.action)
		return exitFail
	}
	return exitOK
}

// confirm is pass_skip_confirm with Python 2's raw_input: -1 to go on, else the exit code. EOF
// (no stdin, the usual `docker run` without -i) raises EOFError outside migrator.py's try: a
// traceback and exit 1.
func confirm(env *Env) int {
	r := bufio.NewReader(env.Stdin)
	for {
		fmt.Fprint(env.Stdout, "Please backup before upgrade, \nEnter y to continue updating or n to abort: ")
		line, err := r.ReadString('\n')
		if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
			fmt.Fprintln(env.Stderr, "Traceback (most recent call last):\n  File \"./migrator.py\", line 139, in pass_skip_confirm\nEOFError: EOF when reading a line")
			return exitFail
		}
		switch strings.ToLower(strings.TrimRight(line, "\r\n")) {
		case "":
			return exitMigrateUsage
		case "y", "ye", "yes":
			return -1
		case "n", "no":
			return exitMigrateUsage
		}
		fmt.Fprint(env.Stdout, "Please respond with 'yes' or 'no' (or 'y' or 'n').\n")
	}
}

// cfgMigrator is migrator.py's CfgMigrator: where the input is, and where the result goes.
type cfgMigrator struct {
	env    *Env
	target string
	input  string // container path
	output string // container path; "" when not set (the input is overwritten)
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func (c *cfgMigrator) configFilepath(dir string) string {
	for _, name := range []string{"harbor.yml", "harbor.cfg"} {
		if p := filepath.Join(dir, name); isFile(c.env.Path(p)) {
			return p
		}
	}
	return ""
}

// newCfgMigrator is CfgMigrator.__init__: harbor-cfg-out/ counts only through a harbor.yml (or
// harbor.cfg) file already in it; an empty directory leads to a path that up() then finds to be
// neither a file nor a directory, so the input is overwritten.
func newCfgMigrator(env *Env, a migratorArgs) *cfgMigrator {
	c := &cfgMigrator{env: env, target: a.target}
	if c.input = c.configFilepath(migratorCfgDir); c.input == "" {
		c.input = migratorCfgDir + "/harbor.cfg"
	}
	switch {
	case a.output:
		// `--output` is a flag (store_true): the real code then stats the boolean True, i.e.
		// file descriptor 1, never a directory or a regular file here: the input is overwritten.
	case c.configFilepath(migratorOutputDir) != "":
		c.output = c.configFilepath(migratorOutputDir)
	case isDir(env.Path(migratorOutputDir)):
		c.output = migratorOutputDir + "/" + filepath.Base(c.input)
	}
	return c
}

// up is CfgMigrator.up plus the cfg/run.py it runs.
func (c *cfgMigrator) up() bool {
	env := c.env
	if _, err := os.Stat(env.Path(c.input)); err != nil {
		fmt.Fprintln(env.Stdout, "Skip cfg up as no harbor.cfg in the path.")
		return true
	}
	cmd := "python ./cfg/run.py --input " + c.input
	out := ""
	switch {
	case c.output != "" && isDir(env.Path(c.output)):
		out = filepath.Join(c.output, filepath.Base(c.input))
	case c.output != "" && isFile(env.Path(c.output)):
		out = c.output
	default:
		fmt.Fprintln(env.Stdout, "The path of the migrated harbor.cfg is not set, the input file will be overwritten.")
	}
	if out != "" {
		cmd += " --output " + out
	}
	if c.target != "" {
		cmd += " --target " + c.target
	}
	fmt.Fprintf(env.Stdout, "Command for config file migration: %s\n", cmd)
	return c.runPy(out) == 0
}

// runPy is cfg/run.py --input c.input [--output out] [--target c.target]; it returns its exit code.
func (c *cfgMigrator) runPy(out string) int {
	env := c.env
	target := c.target
	if target == "" {
		target = env.ConfigVersion() // run.py's own target_version: the image's release
	}
	data, err := os.ReadFile(env.Path(c.input))
	if err != nil {
		return pyCrash(env, err)
	}
	m, err := MigrateConfig(data, target, out == "")
	if err == nil && len(m.Chain) == 0 {
		fmt.Fprintf(env.Stdout, "Version of input harbor.yml is identical to target %s, no need to upgrade\n", m.From)
		return exitOK
	}
	var unsupported *UnsupportedVersionError
	if errors.As(err, &unsupported) {
		fmt.Fprintln(env.Stdout, unsupported.Error())
		return exitFail
	}
	if len(m.Chain) > 0 {
		quoted := make([]string, len(chainBetween(m.From, target)))
		for i, v := range chainBetween(m.From, target) {
			quoted[i] = pyStrRepr(v)
		}
		fmt.Fprintf(env.Stdout, "input version: %s, migrator chain: [%s]\n", m.From, strings.Join(quoted, ", "))
		for _, v := range m.Chain {
			fmt.Fprintf(env.Stdout, "migrating to version %s\n", v)
		}
	}
	if err != nil {
		return pyCrash(env, err)
	}
	if out == "" {
		out = c.input
	}
	// shutil.copy: the file is written in place (a bind-mounted file cannot be replaced) and
	// gets the mode of the temporary file it copies, 0644 under the image's umask, whatever it
	// had before: a 0600 harbor.yml comes back world-readable.
	p := env.Path(out)
	if err := os.WriteFile(p, m.Out, 0o644); err != nil {
		return pyCrash(env, err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		return pyCrash(env, err)
	}
	fmt.Fprintf(env.Stdout, "Written new values to %s\n", out)
	return exitOK
}

func chainBetween(from, to string) []string {
	var out []string
	start, end := chainIndexOf(from), chainIndexOf(to)
	for i := start + 1; start >= 0 && i <= end; i++ {
		out = append(out, configChain[i])
	}
	return out
}

// pyCrash prints an uncaught exception the way python does and returns its exit code, 1.
func pyCrash(env *Env, err error) int {
	fmt.Fprintln(env.Stderr, "Traceback (most recent call last):")
	fmt.Fprintln(env.Stderr, `  File "./cfg/run.py", line 40, in main`)
	fmt.Fprintln(env.Stderr, err)
	return exitFail
}

// validate is CfgMigrator.validate (`--cfg test`).
func (c *cfgMigrator) validate() bool {
	if _, err := os.Stat(c.env.Path(c.input)); err != nil {
		fmt.Fprintf(c.env.Stdout, "Unable to locate the input harbor configuration file: %s, please check.\n", c.input)
		return false
	}
	return true
}

// backup is CfgMigrator.backup: a copy into /harbor-migration/backup.
func (c *cfgMigrator) backup() bool {
	if err := copyFile(c.env.Path(c.input), c.env.Path(filepath.Join(migratorBackupDir, filepath.Base(c.input)))); err != nil {
		fmt.Fprintf(c.env.Stdout, "Back up error: %v\n", err)
		return false
	}
	fmt.Fprintln(c.env.Stdout, "Success to backup harbor.cfg.")
	return true
}

// restore is CfgMigrator.restore: the backed-up file back beside the input.
func (c *cfgMigrator) restore() bool {
	src := c.configFilepath(migratorBackupDir)
	if src == "" {
		fmt.Fprintf(c.env.Stdout, "unable to locate harbor config file in directory: %s\n", migratorBackupDir)
		return false
	}
	if err := copyFile(c.env.Path(src), c.env.Path(filepath.Join(filepath.Dir(c.input), filepath.Base(src)))); err != nil {
		fmt.Fprintf(c.env.Stdout, "Restore error: %v\n", err)
		return false
	}
	fmt.Fprintln(c.env.Stdout, "Success to restore harbor.cfg.")
	return true
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
