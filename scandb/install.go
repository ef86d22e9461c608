package scandb

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/harborbundle/bundle/payload"
)

// Unpack writes kind's files from layer into dst, which Unpack creates and which must not exist
// (its parent must): dst becomes a directory like <cache>/db, holding trivy.db and metadata.json
// (or trivy-java.db and metadata.json), files FileMode, dst DirMode, all owned by uid:gid (-1
// keeps the owner, as os.Chown). The layer is checked as Inspect checks it; files are synced
// before Unpack returns, so a rename of dst into place afterwards is durable. On any error dst is
// removed again.
func Unpack(layer io.Reader, kind, dst string, uid, gid int) (err error) {
	if _, err := lookup(kind); err != nil {
		return err
	}
	if err := os.Mkdir(dst, DirMode); err != nil {
		return fmt.Errorf("unpacking %s: %w", kind, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dst)
		}
	}()
	root, err := os.OpenRoot(dst)
	if err != nil {
		return fmt.Errorf("unpacking %s: %w", kind, err)
	}
	defer root.Close()
	_, err = walkLayer(layer, kind, func(name string, content io.Reader) error {
		return writeFile(root, name, content, uid, gid)
	})
	if err != nil {
		return err
	}
	if err := finishDir(dst, uid, gid); err != nil {
		return fmt.Errorf("unpacking %s: %w", kind, err)
	}
	return nil
}

// writeFile creates name under root (it must not exist: a layer names each file once) with
// content, synced, FileMode whatever the umask, owned by uid:gid.
func writeFile(root *os.Root, name string, content io.Reader, uid, gid int) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, content)
	if err == nil {
		err = f.Chmod(FileMode)
	}
	if err == nil {
		err = f.Chown(uid, gid)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// finishDir gives dst its mode and owner and syncs it, so its entries survive a crash.
func finishDir(dst string, uid, gid int) error {
	if err := os.Chmod(dst, DirMode); err != nil {
		return err
	}
	if err := os.Chown(dst, uid, gid); err != nil {
		return err
	}
	d, err := os.Open(dst)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Installed reads <cacheDir>/<dir>/metadata.json of kind. ok is false, without error, when no
// DB of kind is installed: no metadata.json or no DB file next to it (Trivy would then download
// one, or, with skip_update, fail its scans). A metadata.json that is not Trivy's is an error.
// The schema version is not checked: an installed DB may be of an older Trivy.
func Installed(cacheDir, kind string) (m payload.ScanDBMetadata, ok bool, err error) {
	s, err := lookup(kind)
	if err != nil {
		return m, false, err
	}
	dir := filepath.Join(cacheDir, s.dir)
	b, err := readBounded(filepath.Join(dir, metadataFile), MaxMetadataSize)
	if errors.Is(err, fs.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("installed %s: %w", kind, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, s.dbFile)); errors.Is(err, fs.ErrNotExist) {
		return m, false, nil
	} else if err != nil {
		return m, false, fmt.Errorf("installed %s: %w", kind, err)
	} else if !fi.Mode().IsRegular() {
		return m, false, fmt.Errorf("installed %s: %s is not a regular file", kind, filepath.Join(dir, s.dbFile))
	}
	m, err = parseMetadata(b)
	if err != nil {
		return payload.ScanDBMetadata{}, false, fmt.Errorf("installed %s (%s): %w", kind, dir, err)
	}
	return m, true, nil
}

// readBounded reads a regular file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}
