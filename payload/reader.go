package payload

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// Reader reads a payload through random access. Every byte it hands out is checked: the manifest
// against the trailer's sha256 at Open, every other entry against the manifest as it is read.
type Reader struct {
	ra       io.ReaderAt
	size     int64
	manifest *Manifest
	byPath   map[string]Entry
	mentry   Entry // manifest.yaml itself, as an entry
}

// Open reads and checks the manifest at [manifestOffset, manifestOffset+manifestLength) of the
// payload (size bytes of r), which must have the given sha256, and checks that every entry it
// lists lies inside the payload, before the manifest.
func Open(r io.ReaderAt, size int64, manifestOffset, manifestLength int64, manifestSHA256 [32]byte) (*Reader, error) {
	if size < 0 || manifestOffset < 512 || manifestLength <= 0 || manifestLength > MaxManifestSize ||
		manifestOffset > size || manifestLength > size-manifestOffset {
		return nil, integrityErr(ManifestName, "offset %d and length %d do not fit a %d-byte payload", manifestOffset, manifestLength, size)
	}
	body := make([]byte, manifestLength)
	if n, err := r.ReadAt(body, manifestOffset); n < len(body) {
		return nil, fmt.Errorf("reading %s: %w", ManifestName, err)
	}
	sum := sha256.Sum256(body)
	if sum != manifestSHA256 {
		return nil, integrityErr(ManifestName, "sha256 mismatch")
	}
	m, err := ParseManifest(body)
	if err != nil {
		return nil, err
	}
	pr := &Reader{ra: r, size: size, manifest: m, byPath: make(map[string]Entry, len(m.Entries)),
		mentry: Entry{Path: ManifestName, Size: manifestLength, SHA256: hex.EncodeToString(sum[:]), Offset: manifestOffset, Mode: 0o644}}
	for _, e := range m.Entries {
		if e.Offset+e.Size > manifestOffset-512 {
			return nil, integrityErr(e.Path, "offset %d and size %d reach past the manifest at %d", e.Offset, e.Size, manifestOffset)
		}
		pr.byPath[e.Path] = e
	}
	return pr, nil
}

// Manifest returns the checked manifest. Callers must not modify it.
func (r *Reader) Manifest() *Manifest { return r.manifest }

// Size is the payload's length in bytes.
func (r *Reader) Size() int64 { return r.size }

// OpenEntry returns the content of the entry at path (manifest.yaml included), read by offset.
// Reading it to the end checks its sha256: a mismatch or a short payload is an *IntegrityError
// in place of io.EOF, so a caller that reads to EOF never uses bad data without being told.
func (r *Reader) OpenEntry(path string) (io.ReadCloser, error) {
	e, ok := r.byPath[path]
	if path == ManifestName {
		e, ok = r.mentry, true
	}
	if !ok {
		return nil, fmt.Errorf("opening %s: not in the payload", path)
	}
	return r.open(e), nil
}

func (r *Reader) open(e Entry) *entryReader {
	return &entryReader{e: e, r: io.NewSectionReader(r.ra, e.Offset, e.Size), h: sha256.New()}
}

// readEntry reads a whole (small) entry, checked, refusing anything over max bytes.
func (r *Reader) readEntry(path string, max int64) ([]byte, error) {
	e, ok := r.byPath[path]
	if !ok {
		return nil, fmt.Errorf("reading %s: not in the payload", path)
	}
	if e.Size > max {
		return nil, integrityErr(path, "%d bytes, more than the %d a %s may have", e.Size, max, path)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r.open(e)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// entryReader hashes what it reads and turns EOF into an IntegrityError when the entry is short
// or its sha256 differs.
type entryReader struct {
	e   Entry
	r   *io.SectionReader
	h   hash.Hash
	n   int64
	err error
}

func (er *entryReader) Read(p []byte) (int, error) {
	if er.err != nil {
		return 0, er.err
	}
	n, err := er.r.Read(p)
	er.h.Write(p[:n])
	er.n += int64(n)
	if errors.Is(err, io.EOF) {
		err = er.check()
	}
	er.err = err
	return n, err
}

// WriteTo lets io.Copy use a large buffer: entries are read in 1 MiB slices, not 32 KiB ones.
func (er *entryReader) WriteTo(w io.Writer) (int64, error) {
	buf := make([]byte, 1<<20)
	var total int64
	for {
		n, err := er.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func (er *entryReader) check() error {
	if er.n != er.e.Size {
		return integrityErr(er.e.Path, "payload ends after %d of %d bytes", er.n, er.e.Size)
	}
	if hex.EncodeToString(er.h.Sum(nil)) != er.e.SHA256 {
		return integrityErr(er.e.Path, "sha256 mismatch")
	}
	return io.EOF
}

func (er *entryReader) Close() error { return nil }
