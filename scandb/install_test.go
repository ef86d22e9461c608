package scandb

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/harborbundle/bundle/payload"
)

func TestUnpackWritesTheFilesAsTrivyLeavesThem(t *testing.T) {
	old := syscall.Umask(0o077) // the modes must not depend on the caller's umask
	defer syscall.Umask(old)
	for _, kind := range Kinds() {
		cache := t.TempDir()
		dir, files, _ := Layout(kind)
		entries := goodEntries(t, kind)
		entries[0].hdr.Mode = 0o600 // nor on the tar's modes
		dst := filepath.Join(cache, dir)
		if err := Unpack(bytes.NewReader(layer(t, entries...)), kind, dst, 12345, 23456); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		checkOwnerMode(t, dst, os.ModeDir|DirMode, 12345, 23456)
		names, _ := os.ReadDir(dst)
		if len(names) != 2 {
			t.Errorf("%s: %d files in %s", kind, len(names), dst)
		}
		for i, f := range files {
			p := filepath.Join(dst, f)
			checkOwnerMode(t, p, FileMode, 12345, 23456)
			if b, _ := os.ReadFile(p); !bytes.Equal(b, entries[i].body) {
				t.Errorf("%s: %s holds %q, want %q", kind, f, b, entries[i].body)
			}
		}
		m, ok, err := Installed(cache, kind)
		if err != nil || !ok || m != wantMetadata(kind) {
			t.Errorf("%s: Installed = %+v %v %v, want %+v", kind, m, ok, err, wantMetadata(kind))
		}
	}
}

func checkOwnerMode(t *testing.T, p string, mode os.FileMode, uid, gid int) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode() != mode || int(st.Uid) != uid || int(st.Gid) != gid {
		t.Errorf("%s: mode %v owner %d:%d, want %v %d:%d", p, fi.Mode(), st.Uid, st.Gid, mode, uid, gid)
	}
}

func TestUnpackLeavesNothingWhenItRefuses(t *testing.T) {
	kind := payload.ScanDBTrivy
	cache := t.TempDir()
	dst := filepath.Join(cache, "db.new")
	good := goodEntries(t, kind)
	// The DB file is written before the bad metadata.json is found: it must go again.
	bad := layer(t, good[0], file("metadata.json", []byte("{")))
	if err := Unpack(bytes.NewReader(bad), kind, dst, -1, -1); err == nil || !strings.Contains(err.Error(), "metadata.json is not Trivy's metadata") {
		t.Fatalf("Unpack error = %v", err)
	}
	if _, err := os.Lstat(dst); !os.IsNotExist(err) {
		t.Errorf("%s is still there after a refused layer (%v)", dst, err)
	}
	escape := layer(t, good[0], good[1], file("../escaped", []byte("x")))
	if err := Unpack(bytes.NewReader(escape), kind, dst, -1, -1); err == nil {
		t.Fatal("Unpack accepted ../escaped")
	}
	if _, err := os.Lstat(filepath.Join(cache, "escaped")); !os.IsNotExist(err) {
		t.Error("a file was written outside dst")
	}

	// dst must not exist: Unpack never writes into a directory it did not make, and leaves it.
	if err := os.Mkdir(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Unpack(bytes.NewReader(layer(t, good...)), kind, dst, -1, -1); err == nil || !strings.Contains(err.Error(), "file exists") {
		t.Errorf("Unpack into an existing dir: %v", err)
	}
	if _, err := os.Stat(dst); err != nil {
		t.Errorf("Unpack removed a directory it did not create: %v", err)
	}
	if err := Unpack(bytes.NewReader(layer(t, good...)), kind, filepath.Join(cache, "no", "db"), -1, -1); err == nil {
		t.Error("Unpack made a missing parent")
	}
}

func TestInstalled(t *testing.T) {
	kind := payload.ScanDBTrivy
	cache := t.TempDir()
	if _, ok, err := Installed(cache, kind); ok || err != nil {
		t.Errorf("empty cache: ok %v err %v", ok, err)
	}
	dir := filepath.Join(cache, "db")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "metadata.json"), metadataJSON(2, updated), 0o644)
	if _, ok, err := Installed(cache, kind); ok || err != nil {
		t.Errorf("metadata.json without trivy.db: ok %v err %v", ok, err)
	}
	os.WriteFile(filepath.Join(dir, "trivy.db"), []byte("x"), 0o644)
	if m, ok, err := Installed(cache, kind); !ok || err != nil || m != wantMetadata(kind) {
		t.Errorf("installed: %+v ok %v err %v", m, ok, err)
	}
	// An older Trivy's DB is still reported: the caller compares it.
	os.WriteFile(filepath.Join(dir, "metadata.json"), metadataJSON(1, updated), 0o644)
	if m, ok, err := Installed(cache, kind); !ok || err != nil || m.Version != 1 {
		t.Errorf("schema 1 DB: %+v ok %v err %v", m, ok, err)
	}
	os.WriteFile(filepath.Join(dir, "metadata.json"), []byte("garbage"), 0o644)
	if _, ok, err := Installed(cache, kind); ok || err == nil || !strings.Contains(err.Error(), "installed trivy-db") {
		t.Errorf("garbage metadata: ok %v err %v", ok, err)
	}
	os.WriteFile(filepath.Join(dir, "metadata.json"), bytes.Repeat([]byte(" "), MaxMetadataSize+1), 0o644)
	if _, _, err := Installed(cache, kind); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("huge metadata: err %v", err)
	}
	if _, ok, err := Installed(cache, payload.ScanDBTrivyJava); ok || err != nil {
		t.Errorf("java db not installed: ok %v err %v", ok, err)
	}
}

func TestOlder(t *testing.T) {
	a := payload.ScanDBMetadata{UpdatedAt: "2026-03-14T06:00:00Z"}
	b := payload.ScanDBMetadata{UpdatedAt: "2026-03-14T07:00:00.5+01:00"} // 06:00:00.5 UTC
	if older, err := Older(a, b); !older || err != nil {
		t.Errorf("Older(a, b) = %v %v", older, err)
	}
	if older, err := Older(b, a); older || err != nil {
		t.Errorf("Older(b, a) = %v %v", older, err)
	}
	if older, err := Older(a, a); older || err != nil {
		t.Errorf("Older(a, a) = %v %v", older, err)
	}
	if _, err := Older(a, payload.ScanDBMetadata{UpdatedAt: "soon"}); err == nil {
		t.Error("Older accepted an unparsable time")
	}
	if _, err := Older(payload.ScanDBMetadata{}, a); err == nil {
		t.Error("Older accepted an empty time")
	}
}
