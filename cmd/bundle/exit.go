package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Exit codes, stable and documented in --help (see exitStatusHelp).
const (
	exitOK             = 0
	exitRolledBack     = 1 // failed, rolled back, nothing lost
	exitRefused        = 2 // usage error or refused before any change
	exitRollbackFailed = 3 // failed and rollback failed too: the message says what to do by hand
	exitInterrupted    = 130
)

const exitStatusHelp = `EXIT STATUS
  0    done (or nothing to do)
  1    failed and rolled back: the host is as it was before, nothing lost
  2    usage error, or refused before any change (bad bundle, unsupported upgrade path, preflight)
  3    failed and the rollback failed too: the message lists the commands that finish it by hand
  130  interrupted`

// exitCoder is implemented by library errors that know which exit status they mean. It keeps
// the mapping next to the errors while main keeps one place that applies it.
type exitCoder interface{ ExitCode() int }

// usageError marks errors in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
func (e usageError) ExitCode() int { return exitRefused }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// refusedError marks an input we refuse before changing anything (a bad bundle, a bad option value).
type refusedError struct{ err error }

func (e refusedError) Error() string { return e.err.Error() }
func (e refusedError) Unwrap() error { return e.err }
func (e refusedError) ExitCode() int { return exitRefused }

func refused(err error) error {
	if err == nil {
		return nil
	}
	return refusedError{err}
}

// exitCode maps an error from a command to the process exit status.
func exitCode(err error) int {
	var ec exitCoder
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &ec):
		return ec.ExitCode()
	default:
		return exitRolledBack
	}
}

// printError writes the error as one line (library errors already say what to do).
func printError(w io.Writer, err error) {
	msg := strings.TrimSpace(err.Error())
	if errors.Is(err, context.Canceled) {
		msg = "interrupted"
	}
	fmt.Fprintf(w, "bundle: %s\n", msg)
}
