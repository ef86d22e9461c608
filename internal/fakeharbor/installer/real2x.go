package installer

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

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
// line's last patch's files are used. The prepare script gets what Harbor's release Makefile
// does to it (setPrepareImage).
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
		if f.name == "prepare" {
			if b, err = setPrepareImage(b, rel.Version); err != nil {
				return nil, fmt.Errorf("%s/prepare: %w", dir, err)
			}
		}
		out = append(out, File{Name: f.name, Mode: f.mode, Data: b})
	}
	license, err := os.ReadFile(filepath.Join(root, "LICENSE"))
	if err != nil {
		return nil, fmt.Errorf("Harbor's LICENSE is missing from ../shared/harbor-real: %w", err)
	}
	return append(out, File{Name: "LICENSE", Mode: 0o644, Data: license}), nil
}

// prepareImageLine is the pattern of the 2.x Makefile's edit of the prepare script (target
// `package_offline`/`package_online`):
//
//	sed -i -e 's/goharbor\/prepare:.*[[:space:]]\+/goharbor\/prepare:$(VERSIONTAG) prepare /' make/prepare
//
// (per line, as sed works). It sets the image tag AND inserts the click subcommand `prepare`:
// the image's ENTRYPOINT is `python3 main.py`, a click group, so `--with-trivy` without the
// subcommand is "No such option". harbor-real's copies have the tag set but not the subcommand.
var prepareImageLine = regexp.MustCompile(`goharbor/prepare:.*[ \t\v\f\r]+`) // [[:space:]] within one line

func setPrepareImage(script []byte, version string) ([]byte, error) {
	n := 0
	out := prepareImageLine.ReplaceAllFunc(script, func([]byte) []byte {
		n++
		return []byte("goharbor/prepare:" + version + " prepare ")
	})
	if n != 1 {
		return nil, fmt.Errorf("expected one goharbor/prepare:<tag> line to set to %s, found %d", version, n)
	}
	return out, nil
}
