package upgrade

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/harborbundle/bundle/internal/atomicfile"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Entry types in a tree manifest.
const (
	TypeDir     = "dir"
	TypeFile    = "file"
	TypeSymlink = "symlink"
	TypeFIFO    = "fifo"
	TypeDevice  = "device"
	TypeSocket  = "socket"
)

// TreeEntry is one file of a tree as a backup must reproduce it. Restoring a Harbor database
// with the wrong owner makes postgres refuse to start, so owner and mode matter as much as bytes.
type TreeEntry struct {
	Path   string `json:"path"` // relative, "." for the root
	Type   string `json:"type"`
	Mode   uint32 `json:"mode"` // permission bits plus setuid/setgid/sticky
	UID    int    `json:"uid"`
	GID    int    `json:"gid"`
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"` // regular files
	Link   string `json:"link,omitempty"`   // symlink target
	Rdev   uint64 `json:"rdev,omitempty"`   // devices
	MTime  int64  `json:"mtime_ns"`
	// Xattrs is the sha256 of the sorted extended attributes (names and values), "" when none.
	Xattrs string `json:"xattrs,omitempty"`
}

// TreeManifest is the checksum of a whole tree, sorted by path.
type TreeManifest struct {
	Entries []TreeEntry `json:"entries"`
}

// Bytes is the total size of the regular files.
func (m *TreeManifest) Bytes() int64 {
	var n int64
	for _, e := range m.Entries {
		n += e.Size
	}
	return n
}

// ScanTree checksums the tree at root (not following symlinks).
func ScanTree(root string) (*TreeManifest, error) {
	m := &TreeManifest{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		e, err := statEntry(path, rel)
		if err != nil {
			return err
		}
		if e.Type == TypeFile {
			if e.SHA256, err = fileSHA256(path); err != nil {
				return err
			}
		}
		m.Entries = append(m.Entries, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("checksumming %s: %w", root, err)
	}
	m.sort()
	return m, nil
}

func (m *TreeManifest) sort() {
	sort.Slice(m.Entries, func(a, b int) bool { return m.Entries[a].Path < m.Entries[b].Path })
}

// statEntry describes path (everything but the file hash).
func statEntry(path, rel string) (TreeEntry, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return TreeEntry{}, fmt.Errorf("stat %s: %w", path, err)
	}
	e := TreeEntry{
		Path:  filepath.ToSlash(rel),
		Mode:  st.Mode & 0o7777,
		UID:   int(st.Uid),
		GID:   int(st.Gid),
		MTime: st.Mtim.Nano(),
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		e.Type = TypeDir
	case unix.S_IFREG:
		e.Type, e.Size = TypeFile, st.Size
	case unix.S_IFLNK:
		e.Type = TypeSymlink
		link, err := os.Readlink(path)
		if err != nil {
			return TreeEntry{}, err
		}
		e.Link = link
	case unix.S_IFIFO:
		e.Type = TypeFIFO
	case unix.S_IFCHR, unix.S_IFBLK:
		e.Type, e.Rdev = TypeDevice, st.Rdev
	case unix.S_IFSOCK:
		e.Type = TypeSocket
	}
	x, err := readXattrs(path)
	if err != nil {
		return TreeEntry{}, err
	}
	e.Xattrs = xattrDigest(x)
	return e, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, 1<<20)); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readXattrs returns the extended attributes of path (not following symlinks).
func readXattrs(path string) (map[string][]byte, error) {
	size, err := unix.Llistxattr(path, nil)
	if err == unix.ENOTSUP || err == syscall.ENODATA || size == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing xattrs of %s: %w", path, err)
	}
	buf := make([]byte, size)
	if size, err = unix.Llistxattr(path, buf); err != nil {
		return nil, fmt.Errorf("listing xattrs of %s: %w", path, err)
	}
	out := map[string][]byte{}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:size]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		n, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			return nil, fmt.Errorf("reading xattr %s of %s: %w", name, path, err)
		}
		v := make([]byte, n)
		if n, err = unix.Lgetxattr(path, name, v); err != nil {
			return nil, fmt.Errorf("reading xattr %s of %s: %w", name, path, err)
		}
		out[name] = v[:n]
	}
	return out, nil
}

func xattrDigest(x map[string][]byte) string {
	if len(x) == 0 {
		return ""
	}
	names := make([]string, 0, len(x))
	for n := range x {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(x[n]))
		h.Write(x[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TreeDiffOptions relaxes a comparison.
type TreeDiffOptions struct {
	// IgnoreTimes skips modification times (a tree a service has since opened and closed).
	IgnoreTimes bool
}

// DiffTrees lists the differences between want and got, one line each ("" paths sorted); empty
// when they match.
func DiffTrees(want, got *TreeManifest, opts TreeDiffOptions) []string {
	idx := map[string]TreeEntry{}
	for _, e := range got.Entries {
		idx[e.Path] = e
	}
	var diffs []string
	for _, w := range want.Entries {
		g, ok := idx[w.Path]
		if !ok {
			diffs = append(diffs, w.Path+": missing")
			continue
		}
		delete(idx, w.Path)
		if opts.IgnoreTimes {
			g.MTime = w.MTime
		}
		if w != g {
			diffs = append(diffs, w.Path+": "+describeDiff(w, g))
		}
	}
	for p := range idx {
		diffs = append(diffs, p+": unexpected")
	}
	sort.Strings(diffs)
	return diffs
}

func describeDiff(w, g TreeEntry) string {
	var parts []string
	add := func(what string, a, b any) {
		if fmt.Sprint(a) != fmt.Sprint(b) {
			parts = append(parts, fmt.Sprintf("%s %v != %v", what, b, a))
		}
	}
	add("type", w.Type, g.Type)
	add("mode", fmt.Sprintf("%04o", w.Mode), fmt.Sprintf("%04o", g.Mode))
	add("owner", fmt.Sprintf("%d:%d", w.UID, w.GID), fmt.Sprintf("%d:%d", g.UID, g.GID))
	add("size", w.Size, g.Size)
	add("sha256", w.SHA256, g.SHA256)
	add("link", w.Link, g.Link)
	add("rdev", w.Rdev, g.Rdev)
	add("mtime", w.MTime, g.MTime)
	add("xattrs", w.Xattrs, g.Xattrs)
	return strings.Join(parts, ", ")
}

// WriteTreeManifest stores m at path (synced) and returns the file's sha256.
func WriteTreeManifest(path string, m *TreeManifest) (string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return "", fmt.Errorf("writing tree manifest: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// ReadTreeManifest reads a manifest written by WriteTreeManifest; when wantSHA is not empty the
// file must hash to it (a manifest altered since the backup proves nothing).
func ReadTreeManifest(path, wantSHA string) (*TreeManifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading tree manifest: %w", err)
	}
	if wantSHA != "" {
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != wantSHA {
			return nil, fmt.Errorf("tree manifest %s was changed since the backup (sha256 mismatch)", path)
		}
	}
	var m TreeManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("reading tree manifest %s: %w", path, err)
	}
	return &m, nil
}
