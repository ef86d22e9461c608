package roles

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"time"
)

// serve runs an HTTP server on addr until env.Stop is closed (tests) or the process is killed.
func serve(env *Env, role, addr string, h http.Handler) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		env.logf(role, "listening on %s: %v", addr, err)
		return exitFail
	}
	return serveListener(env, role, ln, h)
}

// effectiveUID is the uid the role runs as; FAKEHARBOR_UID pretends another one in tests, which
// run as root in-process.
func effectiveUID(env *Env) int {
	if n, err := strconv.Atoi(env.Getenv("FAKEHARBOR_UID")); err == nil {
		return n
	}
	return os.Geteuid()
}

// runAsOwner reproduces the two ways Harbor's stateful images get at their data directory.
// Started as root (1.8 and older): the entrypoint makes dir owned by uid and drops to uid.
// Started as uid (1.9+: USER in the image): nothing is fixed here, prepare must have done it.
// It returns the uid the role now runs as.
func runAsOwner(env *Env, role, dir string, uid int, mode os.FileMode) (int, error) {
	me := effectiveUID(env)
	if me != 0 {
		return me, nil
	}
	if err := os.MkdirAll(dir, mode); err != nil {
		return 0, fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := ensureOwner(dir, uid, mode); err != nil {
		return 0, err
	}
	// In a container, really drop root; in-process tests must not (FAKEHARBOR_ROOT), unless a
	// test runs the role as its own process and asks for it (FAKEHARBOR_SETUID=1).
	if env.Getenv("FAKEHARBOR_ROOT") == "" || env.Getenv("FAKEHARBOR_SETUID") == "1" {
		if err := syscall.Setgid(uid); err != nil {
			return 0, fmt.Errorf("dropping to gid %d: %w", uid, err)
		}
		if err := syscall.Setuid(uid); err != nil {
			return 0, fmt.Errorf("dropping to uid %d: %w", uid, err)
		}
	}
	env.logf(role, "running as uid %d", uid)
	return uid, nil
}

// probeWrite proves the role can write its data directory (the mount exists and its owner is
// right) by writing a marker file there; the error is what health then reports.
func probeWrite(dir string) error {
	if dir == "" {
		return nil
	}
	if err := writeAtomic(dir+"/.harbord-write-check", []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return fmt.Errorf("cannot write the data directory: %w", err)
	}
	return nil
}
