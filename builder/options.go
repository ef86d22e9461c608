package builder

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/harborbundle/bundle/progress"
	"github.com/harborbundle/bundle/selfextract"
	"github.com/harborbundle/bundle/sign"
)

// Defaults, chosen by the benchmarks in this package (see bench_test.go and the report in
// BENCHMARKS.md).
const (
	// DefaultJobs is how many blobs download at once.
	DefaultJobs = 8
	// DefaultCompression recompresses layers to zstd: smaller than gzip and faster to load.
	DefaultCompression = "zstd"
	// DefaultLevel is the zstd level used unless --level says otherwise.
	DefaultLevel = "default"
	// DefaultRegistry is where Harbor's images live.
	DefaultRegistry = "docker.io"
	// DefaultPlatform is what Harbor publishes and what the upgrader runs on.
	DefaultPlatform = "linux/amd64"
)

// Levels are the accepted values of Options.Level, fastest to smallest.
var Levels = []string{"fastest", "default", "better", "max"}

// Options says what to build and how. Zero values mean the documented defaults.
type Options struct {
	// Version is the Harbor release to build: "v1.10.0" or "1.10.0".
	Version string
	// From lists the versions the bundle must upgrade from: exact versions ("1.10.0") or minor
	// lines ("1.10": every patch of it). When the target does not accept one of them directly,
	// the bundle carries every release of the shortest chains to the target (a multi-hop
	// bundle, named harbor-upgrade-OLDEST-to-TARGET.run by default); else it is the usual
	// one-hop bundle.
	From []string
	// Output is the .run file. Default: harbor-upgrade-MAJOR.MINOR.run in the current directory.
	Output string
	// Force overwrites an existing output instead of refusing.
	Force bool
	// Registry replaces docker.io for every image repository: a mirror's host[:port], optionally
	// with a path prefix (mirror.example.com/dockerhub). http:// implies InsecureRegistry.
	// Default docker.io.
	Registry string
	// InsecureRegistry talks plain HTTP to Registry.
	InsecureRegistry bool
	// Platform picks the image out of multi-platform indexes. Default linux/amd64.
	Platform string
	// Installer is the installer .tgz (online or offline) as a URL or a file. Default: the
	// release's online installer URL from the catalog.
	Installer string
	// InstallerSHA256 pins the installer archive: any other sha256 is refused (InputError).
	InstallerSHA256 string
	// InstallerKeyring is a file of gpg public keys (exported, armored or binary) that the
	// release's .asc signature of the installer is checked against. Without it a present .asc
	// is recorded as not checked.
	InstallerKeyring string
	// InstallerBase replaces https://github.com in the catalog's installer URL, for a mirror of
	// Harbor's GitHub release downloads. Ignored when Installer is set.
	InstallerBase string
	// Components lists the optional components to include, or "all" or "none". Default: all
	// that the release has. Core is always included.
	Components []string
	// CatalogFiles add or override releases of the embedded catalog.
	CatalogFiles []string
	// CacheDir is the content-addressed blob cache. Default: os.UserCacheDir()/harbor-bundle.
	CacheDir string
	// Jobs bounds the number of parallel blob downloads. Default DefaultJobs.
	Jobs int
	// Compression is "zstd" (recompress layers) or "keep" (store them as pulled). Default zstd.
	Compression string
	// Level is the zstd level: fastest, default, better or max. Default DefaultLevel.
	Level string
	// Split, when set ("4G", "700M"), cuts the .run into NAME.run.001, .002, ... of at most
	// that size; the joined parts are the .run.
	Split string
	// Stub is the executable the payload is attached to. Default: the running binary (without
	// any payload it carries).
	Stub string
	// SignKey, when set, signs the bundle: the manifest's sha256 in the trailer and the whole
	// file in NAME.run.minisig (minisign format).
	SignKey *sign.SecretKey
	// BuilderVersion is recorded in the manifest.
	BuilderVersion string
	// BuildTime is recorded in the manifest and on every payload entry. Default:
	// SOURCE_DATE_EPOCH when set, else now (UTC, whole seconds).
	BuildTime time.Time
	// Progress receives one task per image and one per phase. Default: progress.Discard.
	Progress progress.Reporter
	// Keychain resolves registry credentials. Default authn.DefaultKeychain (the docker config).
	Keychain authn.Keychain
	// Transport carries every registry and installer request. Default: remote.DefaultTransport.
	Transport http.RoundTripper
	// RetryDelay is the first wait before retrying a request that failed with 408, 429, 5xx or
	// a network error; it doubles at each of the 4 attempts. Default 1s.
	RetryDelay time.Duration

	// WithTrivyDB carries Trivy's vulnerability DB, pulled from TrivyDBRepository (default
	// ghcr.io/aquasecurity/trivy-db:2; a reference without tag gets :2, as Trivy does), for
	// the upgrade to install. WithTrivyJavaDB adds the Java DB (TrivyJavaDBRepository, default
	// ghcr.io/aquasecurity/trivy-java-db:1). http:// means plain HTTP, as for Registry.
	WithTrivyDB, WithTrivyJavaDB             bool
	TrivyDBRepository, TrivyJavaDBRepository string
	// TrivyDBOnly builds a DB-only bundle (no Version): harbor-trivy-db-YYYYMMDD.run (the
	// vulnerability DB's UpdatedAt day, UTC) that refreshes the DBs of a running Harbor.
	TrivyDBOnly bool
}

// settings are Options checked and with defaults filled in.
type settings struct {
	Options
	splitSize int64
}

// resolveOptions validates the options that need no catalog and no network.
func resolveOptions(o Options) (*settings, error) {
	s := &settings{Options: o}
	if err := resolveScanDBOptions(s); err != nil {
		return nil, err
	}
	if strings.TrimSpace(s.Version) == "" && !s.TrivyDBOnly {
		return nil, inputErrorf("no version given: name the Harbor release to build, e.g. v1.10.0")
	}
	if s.Registry == "" {
		s.Registry = DefaultRegistry
	}
	if strings.HasPrefix(s.Registry, "http://") {
		s.InsecureRegistry = true // said plainly: plain HTTP
	}
	s.Registry = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(s.Registry, "https://"), "http://"), "/")
	if s.Platform == "" {
		s.Platform = DefaultPlatform
	}
	if s.Jobs == 0 {
		s.Jobs = DefaultJobs
	}
	if s.Jobs < 0 || s.Jobs > 64 {
		return nil, inputErrorf("--jobs %d: use a number from 1 to 64", s.Jobs)
	}
	if s.Compression == "" {
		s.Compression = DefaultCompression
	}
	if s.Compression != "zstd" && s.Compression != "keep" {
		return nil, inputErrorf("--compression %q: use zstd or keep", s.Compression)
	}
	if s.Level == "" {
		s.Level = DefaultLevel
	}
	if !validLevel(s.Level) {
		return nil, inputErrorf("--level %q: use one of %s", s.Level, strings.Join(Levels, ", "))
	}
	if s.Compression == "keep" {
		s.Level = ""
	}
	if s.Split != "" {
		n, err := selfextract.ParseSize(s.Split)
		if err != nil {
			return nil, &InputError{fmt.Errorf("--split: %w", err)}
		}
		s.splitSize = n
	}
	if s.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, inputErrorf("finding the user cache directory: %v; set --cache DIR", err)
		}
		s.CacheDir = filepath.Join(dir, "harbor-bundle")
	}
	pin, err := normalizePin(s.InstallerSHA256)
	if err != nil {
		return nil, err
	}
	s.InstallerSHA256 = pin
	if s.InstallerKeyring, err = keyringPath(s.InstallerKeyring); err != nil {
		return nil, err
	}
	if s.RetryDelay <= 0 {
		s.RetryDelay = time.Second
	}
	s.Progress = progress.Or(s.Progress)
	if s.Keychain == nil {
		s.Keychain = authn.DefaultKeychain
	}
	if s.BuildTime.IsZero() {
		t, err := buildTime(os.Getenv("SOURCE_DATE_EPOCH"), time.Now)
		if err != nil {
			return nil, &InputError{err}
		}
		s.BuildTime = t
	}
	s.BuildTime = s.BuildTime.UTC().Truncate(time.Second)
	return s, nil
}

func validLevel(l string) bool {
	for _, v := range Levels {
		if l == v {
			return true
		}
	}
	return false
}

// buildTime follows reproducible-builds.org: SOURCE_DATE_EPOCH, when set, is the build time,
// so that the same inputs give the same bytes.
func buildTime(epoch string, now func() time.Time) (time.Time, error) {
	if epoch == "" {
		return now().UTC().Truncate(time.Second), nil
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(epoch), 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want a Unix time in seconds", epoch)
	}
	return time.Unix(sec, 0).UTC(), nil
}
