package payload

import "fmt"

// IntegrityError reports payload bytes that do not match what the manifest (or the trailer, for
// the manifest itself) promises: a sha256 mismatch, a size or offset that differs, an entry
// missing or not listed. The bundle is damaged or was tampered with; it must not be used.
type IntegrityError struct {
	Path   string // the entry concerned, e.g. "images/blobs/sha256/ab12..."
	Reason string // e.g. "sha256 mismatch"
}

func (e *IntegrityError) Error() string {
	return fmt.Sprintf("integrity: %s: %s", e.Path, e.Reason)
}

// UnsafeEntryError reports a tar entry that no payload written by this package contains and that
// could do harm if extracted: a link, a device, an absolute path or one with "..", a duplicate.
type UnsafeEntryError struct {
	Name   string // the entry's name as it appears in the tar
	Reason string
}

func (e *UnsafeEntryError) Error() string {
	return fmt.Sprintf("unsafe payload entry %q: %s", e.Name, e.Reason)
}

func integrityErr(path, format string, args ...any) error {
	return &IntegrityError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

func unsafeErr(name, format string, args ...any) error {
	return &UnsafeEntryError{Name: name, Reason: fmt.Sprintf(format, args...)}
}
