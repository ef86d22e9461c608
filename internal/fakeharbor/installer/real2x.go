package installer

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// files2x are what a 2.x installer .tgz carries besides the images (the Makefile's
// PACKAGE_ONLINE_PARA): never harbor.yml, only its template, which the user copies.
var files2x = []struct {
	name string
	mode fs.FileMode
}{
	{"common.sh", 0o755},
	{"harbor.yml.tmpl", 0o644},
	{"install.sh", 0o755},
	{"prepare", 0o755},
}

// Files2x returns a 2.x release's installer files: Harbor's REAL install.sh, prepare,
// common.sh and harbor.yml.tmpl from root/installer/<RealFolder>/ and root/LICENSE (root is
// ../shared/harbor-real), read at run time and never copied into this tree. They drive the fake
// images exactly as they drive the real ones. For a patch release without its own folder, the
// line's last patch's files are used with the prepare script's `goharbor/prepare:<tag>` set to
// the release, which is the one thing Harbor's Makefile changes per release.
func Files2x(root string, rel *release.Release) ([]File, error) {
	if !rel.Is2x() {
		return nil, fmt.Errorf("%s is not a 2.x release", rel.Version)
	}
	dir := filepath.Join(root, "installer", rel.RealFolder)
	var out []File
	for _, f := range files2x {
		b, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			return nil, fmt.Errorf("Harbor's real %s installer files are missing (../shared/harbor-real/installer/%s): %w", rel.Version, rel.RealFolder, err)
		}
		if f.name == "prepare" && rel.RealFolder != rel.Version {
			from := []byte("goharbor/prepare:" + rel.RealFolder + " ")
			if bytes.Count(b, from) != 1 {
				return nil, fmt.Errorf("%s/prepare: expected one %q to retag for %s", dir, from, rel.Version)
			}
			b = bytes.Replace(b, from, []byte("goharbor/prepare:"+rel.Version+" "), 1)
		}
		out = append(out, File{Name: f.name, Mode: f.mode, Data: b})
	}
	license, err := os.ReadFile(filepath.Join(root, "LICENSE"))
	if err != nil {
		return nil, fmt.Errorf("Harbor's LICENSE is missing from ../shared/harbor-real: %w", err)
	}
	return append(out, File{Name: "LICENSE", Mode: 0o644, Data: license}), nil
}
