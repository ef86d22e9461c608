package installer

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/harborbundle/bundle/internal/harborreal"
)

// OverlayReal puts Harbor's own scripts of a release over the fake ones and keeps the rest.
func TestOverlayReal(t *testing.T) {
	root := filepath.Join(harborreal.RequireRoot(t), "installer")
	for _, c := range []struct {
		version string
		names   []string
	}{
		{"v1.8.6", []string{"install.sh", "prepare", "harbor.yml", "LICENSE"}},
		{"v1.9.4", []string{"install.sh", "prepare", "harbor.yml", "LICENSE"}},
		{"v1.10.0", []string{"install.sh", "prepare", "harbor.yml", "common.sh", "LICENSE"}},
	} {
		fake, err := Files(c.version)
		if err != nil {
			t.Fatal(err)
		}
		files, err := OverlayReal(fake, filepath.Join(root, c.version))
		if err != nil {
			t.Fatal(err)
		}
		byName, fakeByName := map[string]File{}, map[string]File{}
		for _, f := range files {
			byName[f.Name] = f
		}
		for _, f := range fake {
			fakeByName[f.Name] = f
		}
		if len(byName) != len(c.names) {
			t.Errorf("%s: %d files, want %v", c.version, len(files), c.names)
		}
		for _, name := range c.names {
			f, ok := byName[name]
			if !ok {
				t.Errorf("%s: no %s", c.version, name)
				continue
			}
			want := fakeByName[name].Data
			if isScript(name) {
				if want, err = os.ReadFile(filepath.Join(root, c.version, name)); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(f.Data, want) {
				t.Errorf("%s: %s is not the real script (or for other files, the fake's file)", c.version, name)
			}
			if (name == "install.sh" || name == "prepare") && f.Mode&0o111 == 0 {
				t.Errorf("%s: %s mode %v", c.version, name, f.Mode)
			}
		}
	}
	if _, err := OverlayReal(nil, filepath.Join(t.TempDir(), "v9.9.9")); err == nil {
		t.Error("a missing real installer was accepted")
	}
}
