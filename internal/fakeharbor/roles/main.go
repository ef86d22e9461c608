package roles

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Exit codes shared by the roles. The migrator has its own (102, 110) because real scripts and
// users depend on them.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// role is one thing the harbord binary can be.
type role struct {
	run  func(env *Env, args []string) int
	port int // the port it listens on in its container (0: not a server)
}

// roles lists every role by the name the image entrypoint gives it.
var roles = map[string]role{
	"core":          {runCore, 8080},
	"db":            {runDB, 5432},
	"proxy":         {runProxy, 8080},
	"registry":      {runRegistry, 5000},
	"prepare":       {runPrepare, 0},
	"migrator":      {runMigrator, 0},
	"psql":          {runPsql, 0},
	"curl":          {runCurl, 0},
	"portal":        simple("portal", "", 8080),
	"jobservice":    simple("jobservice", "/var/log/jobs", 8080),
	"registryctl":   simple("registryctl", "", 8080),
	"redis":         simple("redis", "/var/lib/redis", 6379),
	"log":           simple("log", "", 10514),
	"notary-server": simple("notary-server", "", 4443),
	"notary-signer": simple("notary-signer", "", 7899),
	"clair":         simple("clair", "", 6061),
	"clair-adapter": simple("clair-adapter", "", 8080),
	"chartmuseum":   simple("chartmuseum", "/chart_storage", 9999),
	"adminserver":   simple("adminserver", "", 8080),
	"trivy-adapter": {runTrivyAdapter, 8080},
	"exporter":      {runExporter, 8080},
	"valkey":        simple("valkey", valkeyData, 6379),
}

// Main runs the role named by args[0] with the rest of args and returns the process exit code.
func Main(args []string) int {
	return MainWith(NewEnv(), args)
}

// MainArgv is Main for a process's whole argv: run under another name (a symlink such as
// harbor-db's /usr/bin/psql -> /harbor/harbord) the binary is the role of that name.
func MainArgv(argv []string) int { return Main(roleArgs(argv)) }

// roleArgs turns a process's argv into Main's arguments: the role first.
func roleArgs(argv []string) []string {
	if len(argv) == 0 {
		return nil
	}
	if name := filepath.Base(argv[0]); name != "harbord" {
		if _, ok := roles[name]; ok {
			return append([]string{name}, argv[1:]...)
		}
	}
	return argv[1:]
}

// MainWith is Main with an explicit environment, for tests that run roles in-process.
func MainWith(env *Env, args []string) int {
	if len(args) == 0 {
		fmt.Fprintf(env.Stderr, "usage: harbord ROLE [ARGS...] | harbord health ROLE\nroles: %s\n", strings.Join(roleNames(), ", "))
		return exitUsage
	}
	if args[0] == "health" {
		return runHealth(env, args[1:])
	}
	r, ok := roles[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "harbord: unknown role %q; roles: %s\n", args[0], strings.Join(roleNames(), ", "))
		return exitUsage
	}
	return r.run(env, args[1:])
}

func roleNames() []string {
	names := make([]string, 0, len(roles))
	for n := range roles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Env is what a role reads from its surroundings: the environment variables and standard
// streams of the process, and the directory standing in for the container's root.
type Env struct {
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Stop, when not nil, is closed to ask a server role to return (tests); in a container the
	// process is simply killed.
	Stop <-chan struct{}
}

// NewEnv is the environment of the running process.
func NewEnv() *Env {
	return &Env{Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
}

// Path maps an absolute path of the container to where it is in this process: unchanged in a
// container, under FAKEHARBOR_ROOT in tests.
func (e *Env) Path(p string) string {
	root := e.Getenv("FAKEHARBOR_ROOT")
	if root == "" {
		return p
	}
	return filepath.Join(root, p)
}

// Version is the release the image belongs to ("v1.10.0").
func (e *Env) Version() string { return e.Getenv("HARBOR_VERSION") }

// ConfigVersion is the harbor.yml `_version` of the release ("1.10.0").
func (e *Env) ConfigVersion() string { return e.Getenv("HARBOR_CONFIG_VERSION") }

// Schema is the database schema version the release's core migrates to.
func (e *Env) Schema() int {
	n, _ := strconv.Atoi(e.Getenv("HARBOR_SCHEMA"))
	return n
}

// Int reads an integer environment variable, def when unset or unreadable.
func (e *Env) Int(name string, def int) int {
	if n, err := strconv.Atoi(e.Getenv(name)); err == nil {
		return n
	}
	return def
}

// listenAddr is where a server role listens: FAKEHARBOR_LISTEN in tests, else its real port.
func (e *Env) listenAddr(port int) string {
	if a := e.Getenv("FAKEHARBOR_LISTEN"); a != "" {
		return a
	}
	return ":" + strconv.Itoa(port)
}

func (e *Env) logf(role, format string, args ...any) {
	fmt.Fprintf(e.Stderr, role+": "+format+"\n", args...)
}
