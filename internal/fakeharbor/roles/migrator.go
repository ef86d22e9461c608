package roles

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// The real harbor-migrator's exit codes, which scripts and bundle rely on.
const (
	exitMigrateFailed = 102 // `up` failed: unknown version, template crash, unwritable output
	exitMigrateUsage  = 110 // bad arguments, or no confirmation
)

// The real mount points of harbor-migrator 1.x's `--cfg up`.
const (
	migratorInput     = "/harbor-migration/harbor-cfg/harbor.yml"
	migratorOutputDir = "/harbor-migration/harbor-cfg-out"
	migratorOutput    = migratorOutputDir + "/harbor.yml"
)

// migratorArgs is the command line of harbor-migrator: `[--db] [--cfg] ACTION` plus database
// credentials (-u/-p) the real one takes for its old database actions.
type migratorArgs struct {
	cfg, db bool
	action  string
}

func parseMigratorArgs(args []string) (migratorArgs, error) {
	var a migratorArgs
	for i := 0; i < len(args); i++ {
		switch arg := args[i]; arg {
		case "--cfg":
			a.cfg = true
		case "--db":
			a.db = true
		case "-u", "--user", "-p", "--password", "-f", "--force":
			if arg != "-f" && arg != "--force" {
				i++ // takes a value
			}
		case "up", "backup", "restore", "test":
			if a.action != "" {
				return a, fmt.Errorf("more than one action: %s and %s", a.action, arg)
			}
			a.action = arg
		default:
			return a, fmt.Errorf("unknown argument %q", arg)
		}
	}
	if a.action == "" || (!a.cfg && !a.db) {
		return a, errors.New("an action (up, backup, restore, test) and --cfg or --db are required")
	}
	return a, nil
}

const migratorUsage = `usage: harbor-migrator [--db] [--cfg] up|backup|restore|test
  --cfg up   migrate /harbor-migration/harbor-cfg/harbor.yml to this release's format
             (written to /harbor-migration/harbor-cfg-out/harbor.yml when that directory is mounted)`

func runMigrator(env *Env, args []string) int {
	a, err := parseMigratorArgs(args)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%v\n%s\n", err, migratorUsage)
		return exitMigrateUsage
	}
	if a.action != "up" {
		fmt.Fprintf(env.Stderr, "The fake harbor-migrator only reproduces `up`; %q is not implemented.\n", a.action)
		return exitFail
	}
	if !confirmed(env) {
		return exitMigrateUsage
	}
	if a.db {
		fmt.Fprintln(env.Stdout, "The database schema is upgraded by harbor-core when it starts; nothing to do for --db.")
	}
	if !a.cfg {
		return exitOK
	}
	return cfgUp(env)
}

// confirmed asks the real question unless SKIP_CONFIRM=y; anything but y (EOF included) aborts.
func confirmed(env *Env) bool {
	if strings.EqualFold(env.Getenv("SKIP_CONFIRM"), "y") {
		return true
	}
	fmt.Fprint(env.Stdout, "Please backup before upgrade, \nEnter y to continue updating or n to abort:")
	line, _ := bufio.NewReader(env.Stdin).ReadString('\n')
	if strings.EqualFold(strings.TrimSpace(line), "y") {
		return true
	}
	fmt.Fprintln(env.Stdout, "\nAborted.")
	return false
}

// cfgUp is `--cfg up`: it silently succeeds when nothing is mounted at the input path, the real
// behaviour that makes a wrong mount path look like a successful migration.
func cfgUp(env *Env) int {
	in := env.Path(migratorInput)
	data, err := os.ReadFile(in)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintln(env.Stdout, "Skip cfg up as no harbor.cfg in the path.")
		return exitOK
	}
	if err != nil {
		return migrateFailed(env, fmt.Errorf("reading %s: %w", migratorInput, err))
	}
	from, doc, err := configVersion(data)
	if err != nil {
		return migrateFailed(env, fmt.Errorf("reading %s: %w", migratorInput, err))
	}
	to := env.ConfigVersion()
	if from == to {
		fmt.Fprintf(env.Stdout, "Version of input harbor.yml is identical to target %s, no need to upgrade\n", from)
		return exitOK
	}
	out, err := MigrateConfig(doc, from, to)
	if err != nil {
		return migrateFailed(env, err)
	}
	outPath, shown := in, migratorInput
	if st, err := os.Stat(env.Path(migratorOutputDir)); err == nil && st.IsDir() {
		outPath, shown = env.Path(migratorOutput), migratorOutput
	}
	chain := chainBetween(from, to)
	fmt.Fprintf(env.Stdout, "input version: %s, migrator chain: ['%s']\n", from, strings.Join(chain, "', '"))
	for _, v := range chain {
		fmt.Fprintf(env.Stdout, "migrating to version %s\n", v)
	}
	// Written in place, not renamed: the path is usually a single bind-mounted file.
	if err := os.WriteFile(outPath, out, 0o644); err != nil {
		return migrateFailed(env, fmt.Errorf("writing %s: %w", shown, err))
	}
	fmt.Fprintf(env.Stdout, "Written new values to %s\n", shown)
	return exitOK
}

func chainBetween(from, to string) []string {
	var out []string
	for i := chainIndex(from) + 1; i <= chainIndex(to) && i > 0; i++ {
		out = append(out, configChain[i])
	}
	return out
}

// migrateFailed prints the error the way the real python crash does and returns 102.
func migrateFailed(env *Env, err error) int {
	fmt.Fprintln(env.Stderr, "Traceback (most recent call last):")
	fmt.Fprintln(env.Stderr, `  File "/harbor-migration/cfg/run.py", line 40, in main`)
	fmt.Fprintln(env.Stderr, err)
	fmt.Fprintln(env.Stdout, "Failed to upgrade the configuration file.")
	return exitMigrateFailed
}
