package fakeharbor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/harborbundle/bundle/internal/atomicfile"
)

// Content mixes of the fake's images (Options.Content).
const (
	// ContentSynthetic is generated content of five kinds (gen.go), the default.
	ContentSynthetic = "synthetic"
	// ContentDebian is files of real Debian packages (content_debian_roles.go), fetched with
	// apt-get download into the cache directory and unpacked with dpkg-deb -x.
	ContentDebian = "debian"
)

// contentFill returns the files that fill budget bytes of a layer: role "" is the shared base.
type contentFill func(seed, role string, budget int64) []entry

// debFile is one file or symlink of an unpacked package, as its index records it.
type debFile struct {
	Path string `json:"p"`
	Mode int64  `json:"m"`
	Size int64  `json:"s,omitempty"`
	Sum  string `json:"sum,omitempty"`
	Link string `json:"l,omitempty"`
}

// debianContent is every package the mix uses, unpacked and indexed.
type debianContent struct {
	dir   string               // <cache>/debian
	files map[string][]debFile // by package name
	debs  map[string]string    // package name -> unpacked folder name (the .deb's pool name)
}

// Versions lists "package=version" of every package in the mix, sorted: the same list gives the
// same layers.
func (d *debianContent) Versions() []string {
	var out []string
	for p, deb := range d.debs {
		// pool names are NAME_VERSION_ARCH; the version has no underscore.
		parts := strings.Split(deb, "_")
		if len(parts) == 3 {
			out = append(out, p+"="+parts[1])
		} else {
			out = append(out, p+"="+deb)
		}
	}
	sort.Strings(out)
	return out
}

// loadDebian fetches (or finds in dir) and unpacks every package debianBase and debianRoles name.
func loadDebian(ctx context.Context, dir string) (*debianContent, error) {
	d := &debianContent{dir: filepath.Join(dir, "debian"), files: map[string][]debFile{}, debs: map[string]string{}}
	for _, sub := range []string{"debs", "x"} {
		if err := os.MkdirAll(filepath.Join(d.dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("creating the Debian content cache: %w", err)
		}
	}
	want := map[string]bool{}
	for _, p := range debianBase {
		want[p] = true
	}
	for _, ps := range debianRoles {
		for _, p := range ps {
			want[p] = true
		}
	}
	names := make([]string, 0, len(want))
	for p := range want {
		names = append(names, p)
	}
	sort.Strings(names)
	cands, err := aptCandidates(ctx, names)
	if err != nil {
		// A fresh machine has no package lists yet: fetch them once, as an administrator would.
		if out, uerr := exec.CommandContext(ctx, "apt-get", "update", "-qq").CombinedOutput(); uerr != nil {
			return nil, fmt.Errorf("%w; apt-get update: %v: %s", err, uerr, out)
		}
		if cands, err = aptCandidates(ctx, names); err != nil {
			return nil, err
		}
	}
	for _, p := range names {
		pkg := cands[p]
		files, err := d.unpacked(ctx, pkg)
		if err != nil {
			return nil, fmt.Errorf("Debian package %s %s: %w", p, pkg.version, err)
		}
		d.files[p], d.debs[p] = files, strings.TrimSuffix(pkg.file, ".deb")
	}
	return d, nil
}

// aptPackage is what apt's lists say of a package's candidate version.
type aptPackage struct{ name, version, file, sha256 string }

// aptCandidates reads the candidate version of every package from one apt-cache call (each
// call reads apt's whole cache: seconds on a loaded machine).
func aptCandidates(ctx context.Context, names []string) (map[string]aptPackage, error) {
	out, err := exec.CommandContext(ctx, "apt-cache", append([]string{"show", "--no-all-versions"}, names...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("apt-cache show %s: %w (run apt-get update first)", strings.Join(names, " "), err)
	}
	got := map[string]aptPackage{}
	var p aptPackage
	keep := func() {
		if p.name != "" {
			got[p.name] = p
		}
		p = aptPackage{}
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if sc.Text() == "" {
			keep()
			continue
		}
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			continue
		}
		switch k {
		case "Package":
			p.name = v
		case "Version":
			p.version = v
		case "Filename":
			p.file = path.Base(v)
		case "SHA256":
			p.sha256 = v
		}
	}
	keep()
	for _, n := range names {
		if p := got[n]; p.version == "" || p.file == "" || p.sha256 == "" {
			return nil, fmt.Errorf("apt-cache knows no package %s with a version, file and SHA256 (run apt-get update first)", n)
		}
	}
	return got, nil
}

// unpacked returns the index of pkg's files, downloading, checking and unpacking it the first
// time. Every step ends in a rename, so processes sharing the cache never see half a package.
func (d *debianContent) unpacked(ctx context.Context, pkg aptPackage) ([]debFile, error) {
	base := strings.TrimSuffix(pkg.file, ".deb")
	index := filepath.Join(d.dir, "x", base+".json")
	if b, err := os.ReadFile(index); err == nil {
		var files []debFile
		if err := json.Unmarshal(b, &files); err == nil {
			return files, nil
		}
	}
	deb := filepath.Join(d.dir, "debs", pkg.file)
	if sum, err := fileSHA256(deb); err != nil || sum != pkg.sha256 {
		if err := aptDownload(ctx, pkg, deb); err != nil {
			return nil, err
		}
	}
	tree := filepath.Join(d.dir, "x", base)
	if _, err := os.Stat(tree); err != nil {
		tmp, err := os.MkdirTemp(filepath.Join(d.dir, "x"), "tmp-"+pkg.name+"-")
		if err != nil {
			return nil, err
		}
		if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", deb, tmp).CombinedOutput(); err != nil {
			os.RemoveAll(tmp)
			return nil, fmt.Errorf("dpkg-deb -x: %v: %s", err, out)
		}
		if err := os.Rename(tmp, tree); err != nil {
			os.RemoveAll(tmp)
			if _, serr := os.Stat(tree); serr != nil { // another process won the race otherwise
				return nil, err
			}
		}
	}
	files, err := indexTree(tree)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(files)
	return files, atomicfile.Write(index, b, 0o644)
}

// aptDownload fetches exactly pkg's version into a fresh folder (apt-get download writes to the
// working directory), checks its sha256 against apt's lists and moves it to dst.
func aptDownload(ctx context.Context, pkg aptPackage, dst string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dst), "tmp-download-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "apt-get", "download", "-q", pkg.name+"="+pkg.version)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get download %s=%s: %v: %s", pkg.name, pkg.version, err, out)
	}
	got, err := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if err != nil || len(got) != 1 {
		return fmt.Errorf("apt-get download %s=%s left %d files, want one .deb", pkg.name, pkg.version, len(got))
	}
	if sum, err := fileSHA256(got[0]); err != nil || sum != pkg.sha256 {
		return fmt.Errorf("downloaded %s has sha256 %s, apt's lists say %s", filepath.Base(got[0]), sum, pkg.sha256)
	}
	return os.Rename(got[0], dst)
}

// indexTree lists the regular files (with sha256) and symlinks under root, in path order.
func indexTree(root string) ([]debFile, error) {
	var out []debFile
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := de.Info()
		if err != nil {
			return err
		}
		f := debFile{Path: filepath.ToSlash(rel), Mode: unixMode(fi.Mode())}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if f.Link, err = os.Readlink(p); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			f.Size = fi.Size()
			if f.Sum, err = fileSHA256(p); err != nil {
				return err
			}
		default:
			return nil // no devices or fifos in the packages used
		}
		out = append(out, f)
		return nil
	})
	return out, err
}

func unixMode(m fs.FileMode) int64 {
	v := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	return v
}

// reservedPaths are the fake's own files and folders (specs.go): a package's file or symlink of
// the same path is left out.
var reservedPaths = map[string]bool{
	"etc/os-release": true, "etc/photon-release": true, "etc/passwd": true, "etc/group": true, "usr/bin/psql": true, "usr/bin/curl": true,
	"etc/ssl/certs": true, "root": true, "tmp": true, "var/tmp": true, "var/log": true, "storage": true,
	"var/lib/postgresql": true, "var/lib/postgresql/data": true, "var/lib/redis": true,
}

// fill is the contentFill of the mix: the files of role's packages (the base packages for role
// ""), each path once, taken in an order fixed by a hash of role and path until the next file
// would pass budget. A budget beyond the packages' content gets all of it, no padding: the
// release is then smaller than asked, and the benchmarks report the size they measured.
func (d *debianContent) fill(_ string, role string, budget int64) []entry {
	pkgs := debianBase
	if role != "" {
		pkgs = debianRoles[role]
	}
	type cand struct {
		f   debFile
		src string
		key uint64
	}
	seen := map[string]bool{}
	var cands []cand
	for _, p := range pkgs {
		tree := filepath.Join(d.dir, "x", d.debs[p])
		for _, f := range d.files[p] {
			if seen[f.Path] || reservedPaths[f.Path] || strings.HasPrefix(f.Path, "harbor/") || (role != "" && strings.HasPrefix(f.Path, "etc/"+role+"/")) {
				continue
			}
			seen[f.Path] = true
			cands = append(cands, cand{f: f, src: filepath.Join(tree, filepath.FromSlash(f.Path)), key: hash64(role + "\x00" + f.Path)})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].key != cands[j].key {
			return cands[i].key < cands[j].key
		}
		return cands[i].f.Path < cands[j].f.Path
	})
	var out []entry
	dirs := map[string]bool{} // parents of the files taken: a symlink there would clash
	left := budget
	for _, c := range cands {
		if c.f.Link != "" || c.f.Size > left {
			continue
		}
		left -= c.f.Size
		out = append(out, entry{Path: c.f.Path, Mode: c.f.Mode, Source: c.src, SourceSum: c.f.Sum})
		for p := path.Dir(c.f.Path); p != "."; p = path.Dir(p) {
			dirs[p] = true
		}
	}
	for _, c := range cands { // symlinks cost no content; they come along when they fit the tree
		if c.f.Link != "" && !dirs[c.f.Path] {
			out = append(out, entry{Path: c.f.Path, Link: c.f.Link})
		}
	}
	return out
}

// contentFor returns the fill of a mix, fetching what it needs into dir, and the package
// versions it is made of (none for the synthetic mix).
func contentFor(ctx context.Context, mix, dir string) (contentFill, []string, error) {
	switch mix {
	case "", ContentSynthetic:
		return generatedFiles, nil, nil
	case ContentDebian:
		d, err := loadDebian(ctx, dir)
		if err != nil {
			return nil, nil, err
		}
		return d.fill, d.Versions(), nil
	}
	return nil, nil, fmt.Errorf("content %q: use %s or %s", mix, ContentSynthetic, ContentDebian)
}
