package upgrade

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/harborbundle/bundle/internal/atomicfile"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/harborbundle/bundle/progress"
	"golang.org/x/sys/unix"
)

// CopyTree copies the tree at src to dst (which must not exist) preserving types, owners,
// modes, modification times, extended attributes and hard links, and returns the manifest of
// what it copied (file hashes computed from the bytes as they were copied). Bytes copied are
// reported to p under task.
func CopyTree(ctx context.Context, src, dst string, p progress.Reporter, task string) (*TreeManifest, error) {
	if _, err := os.Lstat(dst); err == nil {
		return nil, fmt.Errorf("copying %s: target %s already exists", src, dst)
	}
	c := &treeCopier{ctx: ctx, src: src, dst: dst, p: progress.Or(p), task: task,
		links: map[[2]uint64]string{}, buf: make([]byte, 1<<20)}
	if err := filepath.WalkDir(src, c.visit); err != nil {
		return nil, fmt.Errorf("copying %s to %s: %w", src, dst, err)
	}
	// Directory times last, deepest first: creating entries inside a directory bumps its mtime.
	for i := len(c.dirs) - 1; i >= 0; i-- {
		d := c.dirs[i]
		if err := setTimes(filepath.Join(dst, d.Path), d.MTime); err != nil {
			return nil, err
		}
	}
	c.m.sort()
	return &c.m, nil
}

type treeCopier struct {
	ctx      context.Context
	src, dst string
	p        progress.Reporter
	task     string
	m        TreeManifest
	dirs     []TreeEntry
	links    map[[2]uint64]string // (dev, inode) of multiply-linked files -> first copy
	buf      []byte
}

func (c *treeCopier) visit(path string, d fs.DirEntry, err error) error {
	if err != nil {
		return err
	}
	if err := c.ctx.Err(); err != nil {
		return err
	}
	rel, err := filepath.Rel(c.src, path)
	if err != nil {
		return err
	}
	e, err := statEntry(path, rel)
	if err != nil {
		return err
	}
	target := filepath.Join(c.dst, rel)
	if err := c.create(path, target, &e); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	if e.Type == TypeDir {
		c.dirs = append(c.dirs, e)
	}
	c.m.Entries = append(c.m.Entries, e)
	return nil
}

// create makes target like path and fills in e.SHA256 for files.
func (c *treeCopier) create(path, target string, e *TreeEntry) error {
	switch e.Type {
	case TypeDir:
		if err := os.Mkdir(target, 0o700); err != nil {
			return err
		}
	case TypeFile:
		linked, err := c.hardlink(path, target)
		if err != nil {
			return err
		}
		if linked {
			// Same inode: metadata is already right; hash it for the manifest.
			e.SHA256, err = fileSHA256(target)
			return err
		}
		if e.SHA256, err = c.copyFile(path, target); err != nil {
			return err
		}
	case TypeSymlink:
		if err := os.Symlink(e.Link, target); err != nil {
			return err
		}
	case TypeFIFO:
		if err := unix.Mkfifo(target, 0o600); err != nil {
			return err
		}
	case TypeDevice:
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return err
		}
		if err := unix.Mknod(target, st.Mode&unix.S_IFMT|0o600, int(st.Rdev)); err != nil {
			return err
		}
	default:
		return fmt.Errorf("cannot copy a %s; remove it or move it out of the tree and run again", e.Type)
	}
	return applyMeta(path, target, *e)
}

// hardlink links target to an earlier copy of the same inode, when there is one.
func (c *treeCopier) hardlink(path, target string) (bool, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return false, err
	}
	if st.Nlink < 2 {
		return false, nil
	}
	key := [2]uint64{st.Dev, st.Ino}
	if first, ok := c.links[key]; ok {
		return true, os.Link(first, target)
	}
	c.links[key] = target
	return false, nil
}

func (c *treeCopier) copyFile(path, target string) (string, error) {
	in, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	w := io.MultiWriter(out, h, progress.Writer{R: c.p, Task: c.task})
	if _, err := io.CopyBuffer(w, in, c.buf); err != nil {
		out.Close()
		return "", err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return "", err
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// applyMeta gives target the owner, mode, xattrs and time of path. Owner goes first: chown
// clears setuid/setgid bits.
func applyMeta(path, target string, e TreeEntry) error {
	if err := os.Lchown(target, e.UID, e.GID); err != nil {
		return err
	}
	if e.Type != TypeSymlink {
		if err := unix.Chmod(target, e.Mode); err != nil {
			return err
		}
	}
	x, err := readXattrs(path)
	if err != nil {
		return err
	}
	for name, v := range x {
		if err := unix.Lsetxattr(target, name, v, 0); err != nil {
			if errors.Is(err, unix.ENOTSUP) {
				return fmt.Errorf("the backup filesystem cannot store extended attribute %s; choose another --backup-dir", name)
			}
			return fmt.Errorf("setting xattr %s: %w", name, err)
		}
	}
	if e.Type == TypeDir {
		return nil // set after the directory is filled
	}
	return setTimes(target, e.MTime)
}

func setTimes(path string, mtimeNS int64) error {
	ts := unix.NsecToTimespec(mtimeNS)
	// atime is not preserved: reading the source for the copy already changed it.
	return unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}

// CopyTreeVerified copies src to dst through dst+".partial" and re-reads the copy: the result
// under dst is complete and matches the source's manifest, or dst does not exist.
func CopyTreeVerified(ctx context.Context, src, dst string, p progress.Reporter, task string) (*TreeManifest, error) {
	partial := dst + ".partial"
	if err := os.RemoveAll(partial); err != nil { // a copy a crash interrupted: ours by name
		return nil, fmt.Errorf("removing interrupted copy: %w", err)
	}
	m, err := CopyTree(ctx, src, partial, p, task)
	if err != nil {
		return nil, err
	}
	got, err := ScanTree(partial)
	if err != nil {
		return nil, err
	}
	if d := DiffTrees(m, got, TreeDiffOptions{}); len(d) > 0 {
		return nil, fmt.Errorf("copy of %s does not match its source: %s", src, d[0])
	}
	if err := os.Rename(partial, dst); err != nil {
		return nil, fmt.Errorf("finishing copy: %w", err)
	}
	return m, atomicfile.SyncDir(filepath.Dir(dst))
}
