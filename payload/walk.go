package payload

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/harborbundle/bundle/progress"
)

// visitFunc receives each entry's content as the walk streams it; it must read it to EOF. The
// content's sha256 is checked by the walk after visitFunc returns.
type visitFunc func(e Entry, content io.Reader) error

// walk is the one sequential pass behind Verify and Extract: it reads every tar header and every
// byte of the payload in order, refuses what no payload of ours contains, and checks each entry
// against the manifest (name, offset, size, mode, sha256) and the tail of the payload for zeros.
func (r *Reader) walk(ctx context.Context, task string, rep progress.Reporter, visit visitFunc) (err error) {
	rep = progress.Or(rep)
	rep.Start(task, r.size)
	defer func() { rep.Done(task, err) }()
	cr := &countingReader{r: io.NewSectionReader(r.ra, 0, r.size), rep: rep, task: task, ctx: ctx}
	tr := tar.NewReader(cr)
	seen := make(map[string]bool, len(r.byPath)+1)
	buf := make([]byte, 1<<20)
	prev := ManifestName // the last entry read, whose padding follows
	for {
		start := cr.n
		hdr, err := tr.Next()
		if cr.badPad { // Next read the previous entry's padding through cr
			return integrityErr(prev, "non-zero bytes in the tar padding after it")
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if cr.err != nil { // the payload could not be read, or ctx was cancelled
				return fmt.Errorf("reading payload: %w", cr.err)
			}
			return integrityErr(r.nextExpected(start, seen), "reading the tar header after offset %d: %v", start, err)
		}
		e, err := r.checkHeader(hdr, cr.n, seen)
		if err != nil {
			return err
		}
		h := sha256.New()
		content := &hashingReader{r: tr, h: h, buf: buf}
		if err := visit(e, content); err != nil {
			return r.visitError(e, cr, content, err)
		}
		if content.n != e.Size {
			return integrityErr(e.Path, "entry ends after %d of %d bytes", content.n, e.Size)
		}
		if hex.EncodeToString(h.Sum(nil)) != e.SHA256 {
			return integrityErr(e.Path, "sha256 mismatch")
		}
		prev, cr.padFrom, cr.padTo = e.Path, cr.n, blockEnd(cr.n)
	}
	if err := r.checkAllSeen(seen); err != nil {
		return err
	}
	return r.checkTail(cr, buf)
}

// visitError tells apart why an entry could not be handled: the payload file failing or ctx
// cancelled, the tar ending inside the entry (the payload's fault), or the visitor's own error.
func (r *Reader) visitError(e Entry, cr *countingReader, content *hashingReader, err error) error {
	switch {
	case cr.err != nil:
		return fmt.Errorf("reading payload: %w", cr.err)
	case content.err != nil:
		return integrityErr(e.Path, "reading: %v", content.err)
	}
	return err
}

// checkHeader refuses unsafe entries and entries the manifest does not describe exactly.
func (r *Reader) checkHeader(hdr *tar.Header, dataOffset int64, seen map[string]bool) (Entry, error) {
	if err := checkUnsafe(hdr); err != nil {
		return Entry{}, err
	}
	if seen[hdr.Name] {
		return Entry{}, unsafeErr(hdr.Name, "appears twice in the payload")
	}
	seen[hdr.Name] = true
	e, ok := r.byPath[hdr.Name]
	if hdr.Name == ManifestName {
		e, ok = r.mentry, true
	}
	switch {
	case !ok:
		return Entry{}, integrityErr(hdr.Name, "in the payload but not in the manifest")
	case hdr.Size != e.Size:
		return Entry{}, integrityErr(e.Path, "size %d, the manifest says %d", hdr.Size, e.Size)
	case dataOffset != e.Offset:
		return Entry{}, integrityErr(e.Path, "data at offset %d, the manifest says %d", dataOffset, e.Offset)
	case uint32(hdr.Mode)&0o7777 != e.Mode:
		return Entry{}, integrityErr(e.Path, "mode %o, the manifest says %o", hdr.Mode, e.Mode)
	}
	return e, nil
}

// checkUnsafe refuses every entry type but a plain file and every name that is not a clean
// relative path: links, devices, fifos, directories, sparse files, absolute names, "..".
func checkUnsafe(hdr *tar.Header) error {
	if hdr.Typeflag != tar.TypeReg {
		return unsafeErr(hdr.Name, "type %q is not a regular file (links, devices, fifos and directories are refused)", string(hdr.Typeflag))
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return unsafeErr(hdr.Name, "sparse file")
		}
	}
	if err := checkName(hdr.Name); err != nil {
		return unsafeErr(hdr.Name, "%s", err)
	}
	if hdr.Size < 0 || hdr.Size > maxEntrySize {
		return unsafeErr(hdr.Name, "absurd size %d", hdr.Size)
	}
	return nil
}

// nextExpected names the first entry not seen yet whose data lies after offset: the one whose
// header could not be read.
func (r *Reader) nextExpected(offset int64, seen map[string]bool) string {
	best := r.mentry
	for _, e := range r.byPath {
		if !seen[e.Path] && e.Offset > offset && e.Offset < best.Offset {
			best = e
		}
	}
	return best.Path
}

func (r *Reader) checkAllSeen(seen map[string]bool) error {
	for p := range r.byPath {
		if !seen[p] {
			return integrityErr(p, "in the manifest but not in the payload")
		}
	}
	if !seen[ManifestName] {
		return integrityErr(ManifestName, "not in the payload's tar")
	}
	return nil
}

// checkTail requires that nothing but zeros follows the end-of-archive marker: every byte of the
// payload is then either checked content or tar structure.
func (r *Reader) checkTail(cr *countingReader, buf []byte) error {
	for {
		n, err := cr.Read(buf)
		for _, b := range buf[:n] {
			if b != 0 {
				return integrityErr(ManifestName, "data after the end of the tar archive")
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading payload: %w", err)
		}
	}
}

// countingReader tells the walk the offset of each entry's data and reports progress. It does
// not implement io.Seeker, so that tar.Reader reads (and the walk counts) every byte, and it
// checks that the padding after each entry, which tar.Reader skips unseen, is zeros: every byte
// of a payload that verifies is then content, tar header (checksummed) or zero.
type countingReader struct {
	r              io.Reader
	n              int64
	rep            progress.Reporter
	task           string
	ctx            context.Context // checked on every read, so that cancelling stops a multi-GB entry
	err            error           // the first error other than EOF: not the payload's fault
	padFrom, padTo int64           // the current padding, which must be zeros
	badPad         bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && c.err == nil {
		c.err = err
	}
	c.checkPadding(p[:n])
	c.n += int64(n)
	c.rep.Add(c.task, int64(n))
	return n, err
}

func (c *countingReader) checkPadding(p []byte) {
	from, to := max(c.padFrom, c.n), min(c.padTo, c.n+int64(len(p)))
	for i := from; i < to; i++ {
		if p[i-c.n] != 0 {
			c.badPad = true
		}
	}
}

// hashingReader hashes an entry's content as the visitor reads it, in large slices.
type hashingReader struct {
	r   io.Reader
	h   io.Writer
	n   int64
	buf []byte
	err error // a read error other than EOF, e.g. the tar ending early
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		hr.err = err
	}
	hr.h.Write(p[:n])
	hr.n += int64(n)
	return n, err
}

// WriteTo makes io.Copy read through the walk's 1 MiB buffer.
func (hr *hashingReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		n, err := hr.Read(hr.buf)
		if n > 0 {
			if _, werr := w.Write(hr.buf[:n]); werr != nil {
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
