package fakeharbor

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/harborbundle/bundle/internal/fakeharbor/release"
	"github.com/harborbundle/bundle/internal/harborreal"
)

// prepareWorkDir is the real 2.x prepare image's WORKDIR: its program and its migrations/ live
// there, and the fake prepare role reads the migration templates from it.
const prepareWorkDir = "/usr/src/app"

// harborRealRoot is Options.HarborReal, else ../shared/harbor-real beside the module (or
// $BUNDLE_HARBOR_REAL). Only 2.x builds need it.
func (b *Builder) harborRealRoot() (string, error) {
	if b.opts.HarborReal != "" {
		return b.opts.HarborReal, nil
	}
	return harborreal.Root()
}

// migrationsLayerSpec is the 2.x prepare image's copy of Harbor's real migration templates:
// prepare/<RealFolder>/migrations/ of harbor-real at /usr/src/app/migrations/ (the folder of the
// release, else of its line's last patch), read at build time, never kept in the repository.
// The spec holds the files' bytes, so the cached layer follows their content.
func migrationsLayerSpec(root string, r *release.Release) (*layerSpec, error) {
	src := filepath.Join(root, "prepare", r.RealFolder, "migrations")
	if _, err := os.Stat(filepath.Join(src, "__init__.py")); err != nil {
		return nil, fmt.Errorf("the %s prepare image needs Harbor's real migration templates at %s (../shared/harbor-real): %w", r.Version, src, err)
	}
	dst := path.Join(prepareWorkDir, "migrations")[1:]
	s := &layerSpec{}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		name := path.Join(dst, filepath.ToSlash(rel))
		if d.IsDir() {
			s.Entries = append(s.Entries, entry{Path: name, Mode: 0o755, Dir: true})
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s.Entries = append(s.Entries, entry{Path: name, Mode: 0o644, Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", src, err)
	}
	s.addDirs()
	return s, nil
}
