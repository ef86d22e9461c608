package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/harborbundle/bundle/harbor"
	"github.com/mholt/archives"
)

// maxInstallerFile bounds one installer file read into memory: install.sh, prepare, harbor.yml
// and LICENSE are a few KB each; anything large is not what we asked for.
const maxInstallerFile = 16 << 20

// githubBase is the part of the catalog's installer URLs that --installer-base replaces.
const githubBase = "https://github.com"

// installerFile is one file taken from harbor/ in the installer archive.
type installerFile struct {
	Name string // base name: install.sh, prepare, ...
	Mode fs.FileMode
	Data []byte
}

// installer is what the bundle carries of Harbor's installer, and where it came from.
type installer struct {
	Source    string // URL, or the file's base name (the sha256 identifies it)
	SHA256    string // of the archive
	Signature string // what checking the release's .asc found: see installerSignature
	Files     []installerFile
}

// installerSource picks the installer: --installer as given, else the release's online
// installer URL, on --installer-base when set.
func installerSource(s *settings, rel *harbor.Release) (string, error) {
	if s.Installer != "" {
		return s.Installer, nil
	}
	u := rel.Installer.OnlineURL
	if u == "" {
		return "", inputErrorf("the catalog has no installer URL for %s: give one with --installer URL|FILE", rel.Version)
	}
	if s.InstallerBase != "" {
		if !strings.HasPrefix(u, githubBase+"/") {
			return "", inputErrorf("--installer-base: the catalog's installer URL %s is not on %s; use --installer URL instead", u, githubBase)
		}
		u = strings.TrimSuffix(s.InstallerBase, "/") + strings.TrimPrefix(u, githubBase)
	}
	return u, nil
}

func isURL(s string) bool { return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") }

// fetchInstaller reads the installer archive (downloading it first when src is a URL) and keeps
// the files the release lists. The images tarball of an offline installer is never kept: the
// images come from the registry.
func fetchInstaller(ctx context.Context, s *settings, cache *Cache, rel *harbor.Release, src string) (*installer, error) {
	archivePath, source := src, filepath.Base(src)
	if isURL(src) {
		p, err := download(ctx, s, cache.TempDir(), src)
		if err != nil {
			return nil, err
		}
		defer os.Remove(p)
		archivePath, source = p, src
	}
	f, err := os.Open(archivePath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, inputErrorf("--installer %s: no such file; give the installer .tgz as a file or an http(s) URL", src)
		}
		return nil, fmt.Errorf("opening installer: %w", err)
	}
	defer f.Close()
	hash := sha256.New()
	files, err := readInstaller(ctx, io.TeeReader(f, hash), filepath.Base(archivePath), rel.Installer.Files)
	if err != nil {
		return nil, &InputError{fmt.Errorf("installer %s: %w", src, err)}
	}
	// Hash the rest too: the reader stops once it has what it needs.
	if _, err := io.Copy(hash, f); err != nil {
		return nil, fmt.Errorf("reading installer: %w", err)
	}
	sum := hex.EncodeToString(hash.Sum(nil))
	if err := checkPin(s, src, sum); err != nil {
		return nil, err
	}
	sig, err := installerSignature(ctx, s, cache.TempDir(), src, archivePath)
	if err != nil {
		return nil, err
	}
	return &installer{Source: source, SHA256: sum, Signature: sig, Files: files}, nil
}

// readInstaller extracts harbor/<name> for each wanted name from an installer archive.
func readInstaller(ctx context.Context, r io.Reader, filename string, want []string) ([]installerFile, error) {
	if len(want) == 0 {
		return nil, errors.New("the catalog lists no installer files for this release")
	}
	for _, w := range want {
		if isImageTarball(w) || w != path.Base(w) {
			return nil, fmt.Errorf("catalog lists installer file %q: only plain files of harbor/, never the image tarball", w)
		}
	}
	format, stream, err := archives.Identify(ctx, filename, r)
	if err != nil {
		return nil, fmt.Errorf("not an archive bundle can read (want Harbor's .tgz): %w", err)
	}
	ex, ok := format.(archives.Extractor)
	if !ok {
		return nil, fmt.Errorf("%s is not an archive format", format.Extension())
	}
	found := map[string]installerFile{}
	err = ex.Extract(ctx, stream, func(ctx context.Context, fi archives.FileInfo) error {
		name := path.Clean(strings.TrimPrefix(fi.NameInArchive, "./"))
		dir, base := path.Split(name)
		if dir != "harbor/" || !slices.Contains(want, base) || isImageTarball(base) {
			return nil
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", name)
		}
		if fi.Size() > maxInstallerFile {
			return fmt.Errorf("%s is %d bytes, more than an installer script should be", name, fi.Size())
		}
		data, err := readArchived(fi)
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		found[base] = installerFile{Name: base, Mode: fi.Mode().Perm(), Data: data}
		if len(found) == len(want) {
			return fs.SkipAll // the image tarball of an offline installer is not worth reading
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var files []installerFile
	var missing []string
	for _, w := range want {
		if f, ok := found[w]; ok {
			files = append(files, f)
		} else {
			missing = append(missing, "harbor/"+w)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("lacks %s: is it Harbor's installer for this release?", strings.Join(missing, ", "))
	}
	slices.SortFunc(files, func(a, b installerFile) int { return strings.Compare(a.Name, b.Name) })
	return files, nil
}

func readArchived(fi archives.FileInfo) ([]byte, error) {
	f, err := fi.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxInstallerFile+1))
}

// isImageTarball matches harbor.v1.10.0.tar.gz and the like: the offline installer's images.
func isImageTarball(name string) bool {
	return strings.HasPrefix(name, "harbor.") && strings.HasSuffix(name, ".tar.gz")
}

// download fetches url into a temp file in dir, retrying on network errors and 408/429/5xx.
func download(ctx context.Context, s *settings, dir, url string) (string, error) {
	p, err := downloadRetrying(ctx, s, dir, url)
	if err == nil {
		return p, nil
	}
	var se *statusError
	if errors.As(err, &se) && se.code == http.StatusNotFound {
		return "", inputErrorf("installer %s: not found (404); check the version, --installer or --installer-base", url)
	}
	return "", fmt.Errorf("downloading installer %s: %w", url, err)
}

// downloadRetrying is download without the installer's error messages: a *statusError tells
// the caller what the server answered.
func downloadRetrying(ctx context.Context, s *settings, dir, url string) (string, error) {
	t := s.Transport
	if t == nil {
		t = http.DefaultTransport
	}
	client := &http.Client{Transport: t}
	var err error
	for attempt := 1; attempt <= 4; attempt++ {
		var p string
		p, err = downloadOnce(ctx, client, dir, url)
		if err == nil {
			return p, nil
		}
		var se *statusError
		if ctx.Err() != nil || (errors.As(err, &se) && !slices.Contains(retryStatusCodes, se.code)) {
			break
		}
		if attempt < 4 {
			if err := sleep(ctx, s.RetryDelay<<(attempt-1)); err != nil {
				return "", err
			}
		}
	}
	return "", err
}

type statusError struct {
	code   int
	status string
}

func (e *statusError) Error() string { return "server answered " + e.status }

func downloadOnce(ctx context.Context, client *http.Client, dir, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", inputErrorf("installer URL %q: %v", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", &statusError{code: resp.StatusCode, status: resp.Status}
	}
	f, err := os.CreateTemp(dir, "installer-*"+path.Ext(url))
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
