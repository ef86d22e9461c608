package payload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/harborbundle/bundle/progress"
)

// Verify reads the whole payload once, sequentially, and checks every tar header and every
// entry's sha256 against the manifest. Errors are *IntegrityError or *UnsafeEntryError naming the
// entry.
func (r *Reader) Verify(ctx context.Context, p progress.Reporter) error {
	return r.walk(ctx, "verify", p, func(_ Entry, content io.Reader) error {
		_, err := io.Copy(io.Discard, content)
		return err
	})
}

// Extract writes every entry (manifest.yaml included) under dir, which is created (0755) if
// missing and must otherwise be empty, in the same single pass as Verify: the result is an OCI
// image layout in dir/images and the installer files in dir/installer, with the manifest's modes.
// Nothing is ever written outside dir: names are checked, no link is ever created, and files are
// opened through an os.Root. On any error, everything Extract wrote is removed again (and dir too
// if Extract created it).
func (r *Reader) Extract(ctx context.Context, dir string, p progress.Reporter) (err error) {
	created, err := prepareDir(dir)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("extracting to %s: %w", dir, err)
	}
	defer root.Close()
	defer func() {
		if err != nil {
			undoExtract(root, dir, created)
		}
	}()
	return r.walk(ctx, "extract", p, func(e Entry, content io.Reader) error {
		return writeEntry(root, e, content)
	})
}

// prepareDir creates dir or checks that it is an empty directory; it reports whether it created it.
func prepareDir(dir string) (created bool, err error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(dir, 0o755); err != nil {
			return false, fmt.Errorf("extracting: %w", err)
		}
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("extracting: %w", err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("extracting: %s is not a directory", dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return false, fmt.Errorf("extracting: %w", err)
	}
	defer f.Close()
	if names, _ := f.Readdirnames(1); len(names) > 0 {
		return false, fmt.Errorf("extracting: %s is not empty: give an empty or new directory", dir)
	}
	return false, nil
}

// writeEntry creates one file under root with the entry's mode, failing if it exists.
func writeEntry(root *os.Root, e Entry, content io.Reader) error {
	if err := root.MkdirAll(path.Dir(e.Path), 0o755); err != nil {
		return fmt.Errorf("extracting %s: %w", e.Path, err)
	}
	f, err := root.OpenFile(e.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fs.FileMode(e.Mode))
	if err != nil {
		return fmt.Errorf("extracting %s: %w", e.Path, err)
	}
	if _, err := io.Copy(f, content); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(fs.FileMode(e.Mode)); err != nil { // the umask must not change modes
		f.Close()
		return fmt.Errorf("extracting %s: %w", e.Path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("extracting %s: %w", e.Path, err)
	}
	return nil
}

// undoExtract removes what Extract wrote: dir was empty (or absent) before, so that is everything
// in it.
func undoExtract(root *os.Root, dir string, created bool) {
	f, err := root.Open(".")
	if err == nil {
		names, _ := f.Readdirnames(-1)
		f.Close()
		for _, n := range names {
			root.RemoveAll(n)
		}
	}
	if created {
		os.Remove(dir)
	}
}
