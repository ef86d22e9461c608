package selfextract

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Bundle is an opened .run file (or the parts of a split one).
type Bundle struct {
	// Path names the file (the first part for a split bundle).
	Path    string
	Size    int64
	Trailer Trailer
	// Payload reads the payload in place, by offset, straight from the file.
	Payload *io.SectionReader

	r      io.ReaderAt
	closer func() error
}

// Open opens a .run file and reads its trailer. It returns ErrNoPayload when the file carries
// no bundle, a *TrailerError when the trailer is damaged or points outside the file.
func Open(path string) (*Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := openReaderAt(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b.Path, b.closer = path, f.Close
	return b, nil
}

// OpenParts opens the parts of a split bundle, in order, as one bundle without joining them
// on disk.
func OpenParts(paths []string) (*Bundle, error) {
	if len(paths) == 1 {
		return Open(paths[0])
	}
	m, err := openMulti(paths)
	if err != nil {
		return nil, err
	}
	b, err := openReaderAt(m, m.size)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("%s...: %w", paths[0], err)
	}
	b.Path, b.closer = paths[0], m.Close
	return b, nil
}

// OpenSelf opens the running executable as a bundle. ErrNoPayload means this binary is the plain
// bundle tool with nothing attached.
func OpenSelf() (*Bundle, error) {
	exe, err := Executable()
	if err != nil {
		return nil, err
	}
	return Open(exe)
}

// Executable is the path of the running binary with symlinks resolved, so that a .run started
// through a link reads the real file.
func Executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding own executable: %w", err)
	}
	return filepath.EvalSymlinks(exe)
}

func openReaderAt(r io.ReaderAt, size int64) (*Bundle, error) {
	if size < TrailerSize {
		return nil, ErrNoPayload
	}
	buf := make([]byte, TrailerSize)
	if _, err := r.ReadAt(buf, size-TrailerSize); err != nil {
		return nil, fmt.Errorf("reading trailer: %w", err)
	}
	t, err := ParseTrailer(buf, size)
	if err != nil {
		return nil, err
	}
	return &Bundle{
		Size:    size,
		Trailer: t,
		Payload: io.NewSectionReader(r, int64(t.PayloadOffset), int64(t.PayloadLength)),
		r:       r,
	}, nil
}

// Close releases the underlying file(s).
func (b *Bundle) Close() error {
	if b.closer == nil {
		return nil
	}
	return b.closer()
}

// ReaderAt gives random access to the whole file, stub and trailer included.
func (b *Bundle) ReaderAt() io.ReaderAt { return b.r }

// StubReader returns the stub part of the file at path: the whole file when no payload is
// attached, else everything before the payload. Building from a .run therefore reuses its
// binary without nesting payloads.
func StubReader(path string) (io.ReadCloser, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	size := st.Size()
	if b, err := openReaderAt(f, size); err == nil {
		size = int64(b.Trailer.PayloadOffset)
	} else if !errors.Is(err, ErrNoPayload) {
		f.Close()
		return nil, 0, fmt.Errorf("stub %s: %w", path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, 0, size), f}, size, nil
}
