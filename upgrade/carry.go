package upgrade

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"gopkg.in/yaml.v3"
)

// The upgrade moves the whole install dir into the backup and lays out the new installer in
// its place. Files harbor.yml names there (a TLS certificate kept beside install.sh is common)
// would be gone: the new prepare reads them and fails, so the migrate step carries them across.

// fileKeys are the harbor.yml keys whose value is a file the new install reads: prepare copies
// the certificate, key and CA bundle; docker-compose mounts the UAA CA and the GCS key file.
// A set value must name an existing file wherever it points.
var fileKeys = []string{"https.certificate", "https.private_key", "storage_service.ca_bundle",
	"uaa.ca_file", "storage_service.gcs.keyfile"}

// dirKeys name directories: data_volume inside the install dir would move Harbor's data into
// the backup and leave the new install an empty one.
var dirKeys = map[string]bool{"data_volume": true}

// InstallFile is one file harbor.yml names inside the install dir, carried into the new one.
type InstallFile struct {
	Key  string `json:"key"`  // "https.certificate"
	Path string `json:"path"` // absolute, as harbor.yml says it
	Rel  string `json:"rel"`  // relative to the install dir
}

// installFiles lists the files harbor.yml (raw bytes) names inside installDir: the keys in
// fileKeys and any other absolute path value under installDir. It fails naming every key that
// points at nothing, and a data_volume inside installDir. Paths are checked under root (the
// install dir as it is now: the original before the backup, the backup's copy after).
func installFiles(cfg []byte, installDir, root string) ([]InstallFile, error) {
	var doc any
	if err := yaml.Unmarshal(cfg, &doc); err != nil {
		return nil, fmt.Errorf("harbor.yml: %w", err)
	}
	values := map[string]string{}
	flatten("", doc, values)
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	known := map[string]bool{}
	for _, k := range fileKeys {
		known[k] = true
	}
	installDir = filepath.Clean(installDir)
	var out []InstallFile
	var problems []string
	for _, key := range keys {
		p := values[key]
		if !filepath.IsAbs(p) {
			continue
		}
		p = filepath.Clean(p)
		rel, inside := relInside(installDir, p)
		if !inside && root == installDir && (known[key] || dirKeys[key]) && viaSymlinkInside(installDir, p) {
			problems = append(problems, fmt.Sprintf("%s %s reaches into the install dir %s through a symbolic link, which the upgrade moves into the backup; write the path through %s (or move it outside)", key, p, installDir, installDir))
			continue
		}
		if !inside && !known[key] {
			continue
		}
		if dirKeys[key] {
			if inside {
				problems = append(problems, fmt.Sprintf("%s %s is inside the install dir, which the upgrade moves into the backup; move the data outside it and set %s there", key, p, key))
			}
			continue
		}
		where := p
		if inside {
			where = filepath.Join(root, rel)
		}
		st, err := os.Stat(where)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			problems = append(problems, fmt.Sprintf("%s %s does not exist; put the file there or correct %s", key, p, key))
			continue
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s %s: %v", key, p, err))
			continue
		case st.IsDir():
			if known[key] {
				problems = append(problems, fmt.Sprintf("%s %s is a directory, not a file; correct %s", key, p, key))
			}
			continue // a directory in the install dir (a log location): the new install makes its own
		}
		if inside {
			out = append(out, InstallFile{Key: key, Path: p, Rel: rel})
		}
	}
	if len(problems) > 0 {
		return out, errors.New(strings.Join(problems, "; "))
	}
	return out, nil
}

// flatten records every scalar string of v under its dotted key ("https.certificate").
func flatten(prefix string, v any, out map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			flatten(joinKey(prefix, k), x, out)
		}
	case map[any]any: // a mapping with a key that is not a string (yaml.v3 decodes those so)
		for k, x := range t {
			flatten(joinKey(prefix, fmt.Sprint(k)), x, out)
		}
	case []any:
		for i, x := range t {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), x, out)
		}
	case string:
		out[prefix] = t
	}
}

// viaSymlinkInside reports whether p, with symbolic links resolved, is inside dir (resolved)
// although its text is not: /opt/harbor/cert.pem when /opt/harbor links to the install dir.
func viaSymlinkInside(dir, p string) bool {
	rp, err := filepath.EvalSymlinks(p)
	if err != nil {
		return false
	}
	rd, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false
	}
	_, inside := relInside(rd, rp)
	return inside
}

func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// relInside is p relative to dir when p is inside dir (not dir itself).
func relInside(dir, p string) (string, bool) {
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

func describeFiles(files []InstallFile) string {
	var parts []string
	for _, f := range files {
		parts = append(parts, f.Key+" "+f.Path)
	}
	return strings.Join(parts, ", ")
}

// carryFiles copies each file from the old install dir (now in the backup, at from) to the
// same place in the new one (to), with its mode and owner, and the directories above it as
// they were. A file the new installer itself ships is never overwritten.
func carryFiles(files []InstallFile, from, to string) error {
	for _, f := range files {
		if err := mkdirsLike(filepath.Dir(f.Rel), from, to); err != nil {
			return fmt.Errorf("carrying %s %s into the new install dir: %w", f.Key, f.Path, err)
		}
		dst := filepath.Join(to, f.Rel)
		if _, err := os.Lstat(dst); err == nil {
			return fmt.Errorf("%s %s has the name of a file the new installer ships; move it to a directory of its own, set %s there and run again", f.Key, f.Path, f.Key)
		}
		if err := copyKeepingOwner(filepath.Join(from, f.Rel), dst); err != nil {
			return fmt.Errorf("carrying %s %s into the new install dir: %w", f.Key, f.Path, err)
		}
	}
	return nil
}

// mkdirsLike creates rel's directories under to with the mode and owner each has under from.
func mkdirsLike(rel, from, to string) error {
	if rel == "." || rel == "" {
		return nil
	}
	if err := mkdirsLike(filepath.Dir(rel), from, to); err != nil {
		return err
	}
	dst := filepath.Join(to, rel)
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	st, err := os.Stat(filepath.Join(from, rel))
	if err != nil {
		return err
	}
	if err := os.Mkdir(dst, st.Mode().Perm()); err != nil {
		return err
	}
	return applyOwnerMode(dst, st)
}

// copyKeepingOwner copies a regular file (a symlink is copied as the link) with mode and owner.
func copyKeepingOwner(src, dst string) error {
	st, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
		uid, gid := ownerOf(st)
		return os.Lchown(dst, uid, gid)
	}
	if err := copyFile(src, dst); err != nil {
		return err
	}
	return applyOwnerMode(dst, st)
}

func applyOwnerMode(path string, st fs.FileInfo) error {
	uid, gid := ownerOf(st)
	if err := os.Lchown(path, uid, gid); err != nil {
		return err
	}
	return os.Chmod(path, st.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
}

func ownerOf(st fs.FileInfo) (uid, gid int) {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid), int(s.Gid)
	}
	return os.Getuid(), os.Getgid()
}
