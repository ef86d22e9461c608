package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Runner runs docker and docker compose. The zero value is ready to use: it runs "docker" and
// the standalone "docker-compose" from PATH with the process environment and logs nothing.
type Runner struct {
	// DockerPath is the docker binary; the default is "docker" from PATH.
	DockerPath string
	// ComposePath is the standalone docker-compose binary (v1); the default is "docker-compose".
	ComposePath string
	// ComposePlugin makes every compose command run as "<docker> compose ARGS" (the v2 CLI
	// plugin, which Harbor's install.sh prefers from 2.5.4/2.6 on) instead of ComposePath.
	// The upgrade stops, inspects and starts Harbor with the tool its install.sh will use.
	ComposePlugin bool
	// Env is added to the process environment of every command.
	Env []string
	// Log receives every command line ("15:04:05.000 $ docker load"), everything the command
	// prints, and how it ended ("[ok after 1.2s]", "[exit status 1 after 3ms]"); nil discards. Writes are serialised, so one log file can serve concurrent commands.
	Log io.Writer

	logMu sync.Mutex
}

// ErrNoSuchImage is returned (wrapped) when an image is not present locally.
var ErrNoSuchImage = errors.New("no such image")

// ExitError is a command that ran and exited non-zero; callers that must tell exit codes apart
// (the migrator's 102 and 110) use errors.As.
type ExitError struct {
	Command  string // the command line, as logged
	ExitCode int
	Stderr   string // the last part of what it printed on stderr
}

func (e *ExitError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		return fmt.Sprintf("%s: exit status %d", e.Command, e.ExitCode)
	}
	return fmt.Sprintf("%s: exit status %d: %s", e.Command, e.ExitCode, msg)
}

// call is one command to run.
type call struct {
	bin    string
	dir    string
	args   []string
	stdin  io.Reader
	stdout io.Writer // in addition to the log
	stderr io.Writer // in addition to the log
	// query marks commands run to read state (ps, inspect, images, logs): their output is
	// data for the caller, kept out of the log (it can hold the containers' environment,
	// passwords included); only a failure's message is logged.
	query bool
}

// exec runs c, logging its command line and output, and returns its stdout.
func (r *Runner) exec(ctx context.Context, c call) ([]byte, error) {
	line := commandLine(c.bin, c.args)
	start := time.Now()
	r.logf("%s $ %s\n", start.Format("15:04:05.000"), line)
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: 4096}
	cmd := exec.CommandContext(ctx, c.bin, c.args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), r.Env...)
	cmd.Stdin = c.stdin
	logOut := r.logWriter()
	if c.query {
		logOut = nil
	}
	cmd.Stdout = multi(&stdout, c.stdout, logOut)
	cmd.Stderr = multi(stderr, c.stderr, logOut)
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		r.logf("[ok after %v]\n", time.Since(start).Round(time.Millisecond))
		return stdout.Bytes(), nil
	case ctx.Err() != nil:
		return stdout.Bytes(), fmt.Errorf("%s: %w", line, ctx.Err())
	case errors.As(err, &exitErr):
		if c.query {
			r.logf("%s", stderr.String())
		}
		r.logf("[exit status %d after %v]\n", exitErr.ExitCode(), time.Since(start).Round(time.Millisecond))
		return stdout.Bytes(), &ExitError{Command: line, ExitCode: exitErr.ExitCode(), Stderr: stderr.String()}
	default:
		return stdout.Bytes(), fmt.Errorf("running %s: %w", line, err)
	}
}

// CLIName is the docker CLI's file name: what a Runner without DockerPath runs from PATH.
const CLIName = "docker"

// LookPath is the docker CLI a Runner without DockerPath runs: CLIName found on PATH.
func LookPath() (string, error) { return exec.LookPath(CLIName) }

func (r *Runner) docker() string {
	if r.DockerPath != "" {
		return r.DockerPath
	}
	return CLIName
}

func (r *Runner) compose() string {
	if r.ComposePath != "" {
		return r.ComposePath
	}
	return "docker-compose"
}

// composeCall is the call that runs compose with args in dir: "docker compose ARGS" with
// ComposePlugin, else "docker-compose ARGS". Working directory and environment are the same
// for both, so a project is the same project whichever tool runs it.
func (r *Runner) composeCall(dir string, args []string) call {
	if r.ComposePlugin {
		return call{bin: r.docker(), dir: dir, args: append([]string{"compose"}, args...)}
	}
	return call{bin: r.compose(), dir: dir, args: args}
}

// ComposeName is the compose tool the Runner uses, as an operator would type it: "docker
// compose" or "docker-compose" (messages and logs name the tool that actually ran).
func (r *Runner) ComposeName() string {
	if r.ComposePlugin {
		return "docker compose"
	}
	return "docker-compose"
}

// logWriter returns a writer into the log, or nil without a log.
func (r *Runner) logWriter() io.Writer {
	if r.Log == nil {
		return nil
	}
	return lockedWriter{r}
}

type lockedWriter struct{ r *Runner }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.r.logMu.Lock()
	defer w.r.logMu.Unlock()
	return w.r.Log.Write(p)
}

func (r *Runner) logf(format string, args ...any) {
	if w := r.logWriter(); w != nil {
		fmt.Fprintf(w, format, args...)
	}
}

func multi(ws ...io.Writer) io.Writer {
	var out []io.Writer
	for _, w := range ws {
		if w != nil {
			out = append(out, w)
		}
	}
	return io.MultiWriter(out...)
}

// commandLine quotes arguments that need it, so a logged line can be pasted into a shell.
func commandLine(bin string, args []string) string {
	parts := []string{bin}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$\\`|&;<>(){}*?!#") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// tailBuffer keeps the last max bytes written: enough of stderr for an error message.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }
