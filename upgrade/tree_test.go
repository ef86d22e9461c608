package upgrade

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// makeTree builds a tree like a Harbor data dir: odd owners, private modes, setgid, links,
// xattrs and old timestamps.
func makeTree(t *testing.T, root string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "base/1"), 0o700))
	must(os.WriteFile(filepath.Join(root, "PG_VERSION"), []byte("9.6\n"), 0o600))
	must(os.WriteFile(filepath.Join(root, "base/1/1259"), []byte(strings.Repeat("row", 100000)), 0o600))
	must(os.WriteFile(filepath.Join(root, "empty"), nil, 0o644))
	must(os.Symlink("base/1/1259", filepath.Join(root, "link")))
	must(os.Symlink("/nonexistent/dangling", filepath.Join(root, "dangling")))
	must(os.Link(filepath.Join(root, "PG_VERSION"), filepath.Join(root, "hardlink")))
	must(unix.Mkfifo(filepath.Join(root, "fifo"), 0o640))
	must(os.Mkdir(filepath.Join(root, "shared"), 0o2775))
	must(unix.Chmod(filepath.Join(root, "shared"), 0o2775))
	must(unix.Lsetxattr(filepath.Join(root, "base/1/1259"), "user.harbor", []byte("x"), 0))
	for _, p := range []string{".", "base", "base/1", "base/1/1259", "PG_VERSION", "fifo"} {
		must(os.Lchown(filepath.Join(root, p), 999, 999))
	}
	must(os.Lchown(filepath.Join(root, "link"), 10000, 10000))
	must(os.Chmod(filepath.Join(root, "base/1/1259"), 0o600))
	old := time.Date(2019, 6, 1, 12, 0, 0, 123456789, time.UTC)
	for _, p := range []string{"base/1/1259", "PG_VERSION", "empty", "base/1", "base", "shared"} {
		must(os.Chtimes(filepath.Join(root, p), old, old))
	}
	ts := unix.NsecToTimespec(old.UnixNano())
	must(unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(root, "link"), []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
}

func TestCopyTreePreservesEverything(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test preserves owners and must run as root (as the upgrader does)")
	}
	tmp := t.TempDir()
	src, dst := filepath.Join(tmp, "database"), filepath.Join(tmp, "backup", "database")
	makeTree(t, src)
	os.Mkdir(filepath.Join(tmp, "backup"), 0o700)
	want, err := ScanTree(src)
	if err != nil {
		t.Fatal(err)
	}
	copied, err := CopyTreeVerified(context.Background(), src, dst, nil, "backup")
	if err != nil {
		t.Fatal(err)
	}
	if d := DiffTrees(want, copied, TreeDiffOptions{}); len(d) > 0 {
		t.Errorf("manifest made while copying differs from the source scan: %v", d)
	}
	got, err := ScanTree(dst)
	if err != nil {
		t.Fatal(err)
	}
	if d := DiffTrees(want, got, TreeDiffOptions{}); len(d) > 0 {
		t.Fatalf("copy differs from source:\n%s", strings.Join(d, "\n"))
	}
	if _, err := os.Stat(dst + ".partial"); !os.IsNotExist(err) {
		t.Errorf("partial copy left behind: %v", err)
	}
	// The hard link stayed a hard link.
	var a, b unix.Stat_t
	unix.Stat(filepath.Join(dst, "PG_VERSION"), &a)
	unix.Stat(filepath.Join(dst, "hardlink"), &b)
	if a.Ino != b.Ino {
		t.Error("hard link copied as two files")
	}
	// Spot checks, independent of the manifest code.
	var st unix.Stat_t
	unix.Lstat(filepath.Join(dst, "base/1/1259"), &st)
	if st.Uid != 999 || st.Mode&0o7777 != 0o600 || st.Mtim.Nano() != time.Date(2019, 6, 1, 12, 0, 0, 123456789, time.UTC).UnixNano() {
		t.Errorf("file metadata not kept: uid %d mode %o mtime %d", st.Uid, st.Mode&0o7777, st.Mtim.Nano())
	}
	unix.Lstat(filepath.Join(dst, "shared"), &st)
	if st.Mode&0o7777 != 0o2775 {
		t.Errorf("setgid dir mode %o", st.Mode&0o7777)
	}
	if v, err := unix.Lgetxattr(filepath.Join(dst, "base/1/1259"), "user.harbor", make([]byte, 8)); err != nil || v != 1 {
		t.Errorf("xattr not copied: %d %v", v, err)
	}
}

func TestDiffTreesSeesEveryKindOfChange(t *testing.T) {
	tmp := t.TempDir()
	root := filepath.Join(tmp, "t")
	makeTree(t, root)
	base, err := ScanTree(root)
	if err != nil {
		t.Fatal(err)
	}
	changes := map[string]func(){
		"sha256": func() {
			f, _ := os.OpenFile(filepath.Join(root, "base/1/1259"), os.O_WRONLY, 0)
			f.WriteAt([]byte("R"), 10)
			f.Close()
			old := time.Date(2019, 6, 1, 12, 0, 0, 123456789, time.UTC)
			os.Chtimes(filepath.Join(root, "base/1/1259"), old, old)
		},
		"mode":       func() { os.Chmod(filepath.Join(root, "PG_VERSION"), 0o644) },
		"owner":      func() { os.Lchown(filepath.Join(root, "empty"), 0, 999) },
		"link":       func() { os.Remove(filepath.Join(root, "link")); os.Symlink("elsewhere", filepath.Join(root, "link")) },
		"missing":    func() { os.Remove(filepath.Join(root, "empty")) },
		"unexpected": func() { os.WriteFile(filepath.Join(root, "new"), nil, 0o600) },
		"xattrs":     func() { unix.Lsetxattr(filepath.Join(root, "PG_VERSION"), "user.x", []byte("1"), 0) },
	}
	for what, change := range changes {
		os.RemoveAll(root)
		makeTree(t, root)
		change()
		got, err := ScanTree(root)
		if err != nil {
			t.Fatal(err)
		}
		d := DiffTrees(base, got, TreeDiffOptions{IgnoreTimes: true})
		if len(d) == 0 || !strings.Contains(strings.Join(d, "\n"), what) {
			t.Errorf("%s change: diff %v", what, d)
		}
	}
}

func TestTreeManifestFileIsTamperEvident(t *testing.T) {
	tmp := t.TempDir()
	makeTree(t, filepath.Join(tmp, "t"))
	m, _ := ScanTree(filepath.Join(tmp, "t"))
	path := filepath.Join(tmp, "t.tree.json")
	sum, err := WriteTreeManifest(path, m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadTreeManifest(path, sum)
	if err != nil {
		t.Fatal(err)
	}
	if d := DiffTrees(m, back, TreeDiffOptions{}); len(d) > 0 {
		t.Fatalf("round trip: %v", d)
	}
	b, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(b), `"uid":999`, `"uid":0`, 1)), 0o600)
	if _, err := ReadTreeManifest(path, sum); err == nil || !strings.Contains(err.Error(), "changed since the backup") {
		t.Errorf("edited manifest accepted: %v", err)
	}
}

func TestCopyTreeRefusesExistingTargetAndSockets(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	os.Mkdir(src, 0o700)
	if _, err := CopyTree(context.Background(), src, tmp, nil, ""); err == nil {
		t.Error("copied onto an existing directory")
	}
	fd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: filepath.Join(src, "sock")}); err != nil {
		t.Fatal(err)
	}
	_, err := CopyTreeVerified(context.Background(), src, filepath.Join(tmp, "dst"), nil, "")
	if err == nil || !strings.Contains(err.Error(), "socket") {
		t.Errorf("socket: %v", err)
	}
}

// Moving a tree to another filesystem (a backup dir on its own disk) copies, verifies, then
// removes the source.
func TestMoveDirAcrossFilesystems(t *testing.T) {
	tmp := t.TempDir()
	mnt := filepath.Join(tmp, "other-fs")
	os.Mkdir(mnt, 0o700)
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=16m"); err != nil {
		t.Fatalf("mounting a tmpfs (the test runs as root, as the upgrader): %v", err)
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)
	src := filepath.Join(tmp, "harbor")
	os.MkdirAll(filepath.Join(src, "common/config"), 0o755)
	os.WriteFile(filepath.Join(src, "harbor.yml"), []byte("hostname: x\n"), 0o644)
	want, _ := ScanTree(src)
	dst := filepath.Join(mnt, "harbor")
	if err := moveDir(src, dst); err != nil {
		t.Fatal(err)
	}
	got, _ := ScanTree(dst)
	if d := DiffTrees(want, got, TreeDiffOptions{}); len(d) > 0 {
		t.Errorf("moved tree differs: %v", d)
	}
	if _, err := os.Lstat(src); !os.IsNotExist(err) {
		t.Errorf("source still there: %v", err)
	}
}
