package installer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// RealScripts are the installer files OverlayReal takes from Harbor's own installer: the
// scripts a user runs, which then drive the fake images exactly as they drive the real ones.
var RealScripts = []string{"install.sh", "prepare", "common.sh"}

// OverlayReal replaces the fake scripts in files by Harbor's real ones from dir (one release's
// folder of ../shared/harbor-real/installer, e.g. .../installer/v1.9.4), keeping the real
// files' modes; a script the real release has and the fake lacks is added, and one the
// release does not have (common.sh before 1.10) is left out. The real files are read at run
// time, never copied into this tree.
func OverlayReal(files []File, dir string) ([]File, error) {
	if _, err := os.Stat(filepath.Join(dir, "install.sh")); err != nil {
		return nil, fmt.Errorf("Harbor's real installer scripts are missing: %w (they belong in ../shared/harbor-real/installer/<version>/)", err)
	}
	real := map[string]File{}
	for _, name := range RealScripts {
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		mode := st.Mode().Perm()
		if name != "common.sh" {
			mode |= 0o755 // a read-only shared copy may have lost the x bits; the tarball has them
		}
		real[name] = File{Name: name, Mode: mode, Data: b}
	}
	out := make([]File, 0, len(files)+len(real))
	for _, f := range files {
		if r, ok := real[f.Name]; ok {
			out = append(out, r)
			delete(real, f.Name)
			continue
		}
		if isScript(f.Name) {
			continue // the real release has no such script
		}
		out = append(out, f)
	}
	for _, name := range RealScripts {
		if r, ok := real[name]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

func isScript(name string) bool {
	for _, s := range RealScripts {
		if s == name {
			return true
		}
	}
	return false
}
