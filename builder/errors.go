package builder

import "fmt"

// InputError is bad input refused before anything was written: an unknown version, an unknown
// component, an output that exists, a catalog entry naming an image the registry does not have.
// The command line maps it to exit status 2.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// ExitCode is the process exit status for refused input.
func (e *InputError) ExitCode() int { return 2 }

func inputErrorf(format string, args ...any) error {
	return &InputError{fmt.Errorf(format, args...)}
}

// PullError names the image whose pull failed for good, after retries.
type PullError struct {
	Ref string // image reference as the catalog names it, e.g. goharbor/harbor-core:v1.10.0
	Err error
}

func (e *PullError) Error() string { return fmt.Sprintf("pulling %s: %v", e.Ref, e.Err) }
func (e *PullError) Unwrap() error { return e.Err }
