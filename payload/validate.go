package payload

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxEntrySize bounds any size or offset the manifest may state (1 PiB): far beyond any real
// payload, far below where int64 arithmetic on offset+size could overflow.
const maxEntrySize = 1 << 50

const blobDir = "images/blobs/sha256/"

// Validate checks that the manifest is one this package could have written: supported schema,
// known compression, entry paths clean and under installer/ or images/, no duplicates, sizes and
// offsets sane and non-overlapping, digests well formed, and every blob an image needs listed.
func (m *Manifest) Validate() error {
	if m.SchemaVersion != SchemaVersion {
		return fmt.Errorf("schema version %d is not supported (want %d)", m.SchemaVersion, SchemaVersion)
	}
	if m.Release == "" && m.Kind != KindTrivyDBRefresh {
		return errors.New("release is empty")
	}
	if err := m.Compression.validate(); err != nil {
		return err
	}
	switch m.Migration.Method {
	case "", "harbor-migrator", "prepare-migrate":
	default:
		return fmt.Errorf("unknown migration method %q", m.Migration.Method)
	}
	if err := validateEntries(m.Entries); err != nil {
		return err
	}
	if err := m.validateImages(); err != nil {
		return err
	}
	if err := m.validateScanDBs(); err != nil {
		return err
	}
	return m.validateHops()
}

func (c Compression) validate() error {
	switch c.Algorithm {
	case "keep":
		if c.Level != "" {
			return fmt.Errorf("compression keep takes no level, got %q", c.Level)
		}
		return nil
	case "zstd":
		_, err := Level(c.Level).encoderLevel()
		return err
	}
	return fmt.Errorf("unknown compression %q (want keep or zstd)", c.Algorithm)
}

func validateEntries(entries []Entry) error {
	paths := make(map[string]bool, len(entries))
	for _, e := range entries {
		if err := checkEntryPath(e.Path); err != nil {
			return err
		}
		if paths[e.Path] {
			return fmt.Errorf("entry %s listed twice", e.Path)
		}
		paths[e.Path] = true
		if e.Size < 0 || e.Size > maxEntrySize || e.Offset < 512 || e.Offset > maxEntrySize || e.Offset%512 != 0 {
			return fmt.Errorf("entry %s: impossible size %d or offset %d", e.Path, e.Size, e.Offset)
		}
		if !isHex64(e.SHA256) {
			return fmt.Errorf("entry %s: sha256 %q is not 64 lowercase hex digits", e.Path, e.SHA256)
		}
		if e.Mode&^0o777 != 0 {
			return fmt.Errorf("entry %s: mode %o has bits beyond 0777", e.Path, e.Mode)
		}
		if strings.HasPrefix(e.Path, blobDir) && e.Path[len(blobDir):] != e.SHA256 {
			return fmt.Errorf("entry %s: sha256 %s differs from its name", e.Path, e.SHA256)
		}
	}
	for p := range paths {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if paths[d] {
				return fmt.Errorf("entry %s is both a file and the directory of %s", d, p)
			}
		}
	}
	return checkNoOverlap(entries)
}

// checkNoOverlap proves every entry's data lies in its own region with room for its header.
func checkNoOverlap(entries []Entry) error {
	sorted := append([]Entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Offset < sorted[j].Offset })
	for i := 1; i < len(sorted); i++ {
		prev, cur := sorted[i-1], sorted[i]
		if cur.Offset < blockEnd(prev.Offset+prev.Size)+512 {
			return fmt.Errorf("entries %s and %s overlap", prev.Path, cur.Path)
		}
	}
	return nil
}

// checkEntryPath accepts the paths a payload may hold: clean, relative, printable, and either an
// installer file or one of the OCI layout's files.
func checkEntryPath(p string) error {
	if err := checkName(p); err != nil {
		return fmt.Errorf("entry %q: %s", p, err)
	}
	switch {
	case strings.HasPrefix(p, "installer/"):
		return nil
	case p == "images/oci-layout", p == "images/index.json":
		return nil
	case strings.HasPrefix(p, blobDir) && isHex64(p[len(blobDir):]):
		return nil
	}
	return fmt.Errorf("entry %q is neither under installer/ nor a file of the OCI layout in images/", p)
}

// checkName refuses names that could leave the extraction directory or confuse a terminal.
func checkName(p string) error {
	switch {
	case p == "" || len(p) > 4096:
		return errors.New("empty or overlong name")
	case !utf8.ValidString(p):
		return errors.New("name is not UTF-8")
	case strings.IndexFunc(p, unicode.IsControl) >= 0:
		return errors.New("name has control characters")
	case path.IsAbs(p):
		return errors.New("absolute path")
	case p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/.."):
		return errors.New(`".." in path`)
	case path.Clean(p) != p:
		return errors.New("path is not clean")
	}
	return nil
}

func (m *Manifest) validateImages() error {
	byPath := make(map[string]Entry, len(m.Entries))
	for _, e := range m.Entries {
		byPath[e.Path] = e
	}
	blob := func(ref, what, digest string) (Entry, error) {
		if !isDigest(digest) {
			return Entry{}, fmt.Errorf("image %s: %s %q is not sha256:<64 hex>", ref, what, digest)
		}
		e, ok := byPath[blobPath(digest)]
		if !ok {
			return Entry{}, fmt.Errorf("image %s: %s %s is not in the payload", ref, what, digest)
		}
		return e, nil
	}
	refs := make(map[string]bool, len(m.Images))
	for _, img := range m.Images {
		if img.Ref == "" || refs[img.Ref] {
			return fmt.Errorf("image ref %q is empty or listed twice", img.Ref)
		}
		refs[img.Ref] = true
		me, err := blob(img.Ref, "manifest", img.ManifestDigest)
		if err != nil {
			return err
		}
		ce, err := blob(img.Ref, "config", img.ConfigDigest)
		if err != nil {
			return err
		}
		size, usize := me.Size+ce.Size, int64(0)
		for _, l := range img.Layers {
			le, err := blob(img.Ref, "layer", l.Digest)
			if err != nil {
				return err
			}
			if !isDigest(l.DiffID) || l.Size != le.Size || l.UncompressedSize < 0 || l.UncompressedSize > maxEntrySize {
				return fmt.Errorf("image %s: layer %s: bad diff_id, size or uncompressed size", img.Ref, l.Digest)
			}
			size += l.Size
			usize += l.UncompressedSize
		}
		if size != img.Size || usize != img.UncompressedSize {
			return fmt.Errorf("image %s: size %d / uncompressed size %d differ from its blobs (%d / %d)", img.Ref, img.Size, img.UncompressedSize, size, usize)
		}
	}
	return nil
}

func isDigest(s string) bool { return strings.HasPrefix(s, "sha256:") && isHex64(s[len("sha256:"):]) }

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// blockEnd rounds n up to the tar block size.
func blockEnd(n int64) int64 { return (n + 511) &^ 511 }
