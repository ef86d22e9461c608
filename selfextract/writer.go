package selfextract

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/harborbundle/bundle/internal/atomicfile"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrExists is returned when the output file already exists and overwriting was not asked for.
var ErrExists = errors.New("output file exists")

// Writer builds a .run file: Create copies the stub, Write appends payload bytes, Commit appends
// the trailer and moves the finished file into place. Until Commit succeeds nothing exists under
// the final name, so an interrupted build never leaves a half .run that looks whole.
type Writer struct {
	final   string
	force   bool
	f       *os.File
	hash    hash.Hash // sha256 of the whole file, for NAME.run.sha256
	stubLen int64
	stubSum string // hex sha256 of the stub
	n       int64  // payload bytes written
	done    bool
}

// Create starts a .run at path with the stub read from stub. With force false, an existing file
// at path is an error (ErrExists), checked now and again at Commit.
func Create(path string, stub io.Reader, force bool) (*Writer, error) {
	if !force {
		if _, err := os.Lstat(path); err == nil {
			return nil, fmt.Errorf("%s: %w (use --force to overwrite)", path, ErrExists)
		}
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return nil, fmt.Errorf("creating output: %w", err)
	}
	w := &Writer{final: path, force: force, f: f, hash: sha256.New()}
	stubHash := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, w.hash, stubHash), stub)
	if err != nil {
		w.Abort()
		return nil, fmt.Errorf("copying stub: %w", err)
	}
	if n == 0 {
		w.Abort()
		return nil, errors.New("stub binary is empty")
	}
	w.stubLen = n
	w.stubSum = hex.EncodeToString(stubHash.Sum(nil))
	return w, nil
}

// Write appends payload bytes.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.hash.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// StubSHA256 is the hex sha256 of the stub; record it in the manifest (payload.Manifest.Stub) so
// that verification and the signature cover the program the .run starts.
func (w *Writer) StubSHA256() string { return w.stubSum }

// PayloadOffset is where the payload starts in the file (the stub's length).
func (w *Writer) PayloadOffset() int64 { return w.stubLen }

// Commit writes the trailer (filling in the payload offset and length), syncs the file and
// renames it to its final name. It returns the sha256 of the whole file and its size.
func (w *Writer) Commit(t Trailer) (sum [32]byte, size int64, err error) {
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	t.PayloadOffset, t.PayloadLength = uint64(w.stubLen), uint64(w.n)
	b, err := t.MarshalBinary()
	if err != nil {
		return sum, 0, err
	}
	if err := t.check(w.stubLen + w.n + TrailerSize); err != nil {
		return sum, 0, err
	}
	if _, err := w.f.Write(b); err != nil {
		return sum, 0, fmt.Errorf("writing trailer: %w", err)
	}
	w.hash.Write(b)
	if err := w.f.Chmod(0o755); err != nil {
		return sum, 0, err
	}
	if err := w.f.Sync(); err != nil {
		return sum, 0, fmt.Errorf("syncing output: %w", err)
	}
	if err := w.f.Close(); err != nil {
		return sum, 0, err
	}
	if err := placeFile(w.f.Name(), w.final, w.force); err != nil {
		return sum, 0, err
	}
	w.done = true
	copy(sum[:], w.hash.Sum(nil))
	return sum, w.stubLen + w.n + TrailerSize, nil
}

// Abort removes the partial file. It is safe to call after Commit (it does nothing then).
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.f.Name())
}

// placeFile moves tmp to final. Without force it links first, which fails atomically if final
// appeared meanwhile, so a concurrent file is never clobbered.
func placeFile(tmp, final string, force bool) error {
	if force {
		if err := os.Rename(tmp, final); err != nil {
			return err
		}
	} else {
		if err := os.Link(tmp, final); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s: %w (use --force to overwrite)", final, ErrExists)
			}
			return err
		}
		os.Remove(tmp)
	}
	return atomicfile.SyncDir(filepath.Dir(final))
}
