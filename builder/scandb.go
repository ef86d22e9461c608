package builder

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/scandb"
)

// A bundle can carry Trivy's vulnerability DBs (--with-trivy-db, --with-trivy-java-db), or be
// only them (--trivy-db-only, scandb_only.go). Each is pulled as Trivy pulls it: the artifact's
// manifest, which must have the one layer of the media type Trivy accepts; the layer goes through
// the cache like every blob (digest and size checked) and is stored in the payload exactly as
// pulled, after scandb.Inspect found in it what Trivy publishes. All of that happens before the
// .run is created: a DB that would be refused on the host is refused here.

// maxScanDBLayer bounds the layer a manifest may announce (the real trivy-db layer is ~60 MB,
// the Java DB's ~700 MB): a registry cannot make the build download without end.
const maxScanDBLayer = 8 << 30

// scanDBRefs returns the kinds to carry and where each is pulled from, in scandb.Kinds order.
func scanDBRefs(s *settings) map[string]string {
	refs := map[string]string{}
	if s.WithTrivyDB {
		refs[payload.ScanDBTrivy] = s.TrivyDBRepository
	}
	if s.WithTrivyJavaDB {
		refs[payload.ScanDBTrivyJava] = s.TrivyJavaDBRepository
	}
	return refs
}

// resolveScanDBOptions checks the DB flags against each other and fills the default refs.
func resolveScanDBOptions(s *settings) error {
	if s.TrivyDBOnly {
		if s.Version != "" || len(s.From) > 0 || s.Installer != "" || len(s.Components) > 0 {
			return inputErrorf("--trivy-db-only builds a DB-only bundle: give no VERSION, --from, --installer or --components")
		}
		s.WithTrivyDB = true
	}
	if s.WithTrivyJavaDB && !s.WithTrivyDB {
		return inputErrorf("--with-trivy-java-db goes with --with-trivy-db: Harbor's scanner needs the vulnerability DB too")
	}
	if s.TrivyDBRepository != "" && !s.WithTrivyDB {
		return inputErrorf("--trivy-db-repository is only used with --with-trivy-db or --trivy-db-only")
	}
	if s.TrivyJavaDBRepository != "" && !s.WithTrivyJavaDB {
		return inputErrorf("--trivy-java-db-repository is only used with --with-trivy-java-db")
	}
	for _, r := range []*string{&s.TrivyDBRepository, &s.TrivyJavaDBRepository} {
		*r = strings.TrimSpace(*r)
	}
	if s.TrivyDBRepository == "" {
		s.TrivyDBRepository = scandb.DefaultTrivyDBRef
	}
	if s.TrivyJavaDBRepository == "" {
		s.TrivyJavaDBRepository = scandb.DefaultTrivyJavaDBRef
	}
	return nil
}

// scanDBRef parses where kind is pulled from. As Trivy does, a reference without tag or digest
// gets the kind's schema version as tag (mirror/trivy-db -> mirror/trivy-db:2); http:// means
// plain HTTP, as for --registry, and so does --insecure-registry.
func scanDBRef(s *settings, kind, ref string) (name.Reference, error) {
	flag := "--trivy-db-repository"
	if kind == payload.ScanDBTrivyJava {
		flag = "--trivy-java-db-repository"
	}
	var opts []name.Option
	if s.InsecureRegistry || strings.HasPrefix(ref, "http://") {
		opts = append(opts, name.Insecure)
	}
	bare := strings.TrimPrefix(strings.TrimPrefix(ref, "http://"), "https://")
	last := bare[strings.LastIndex(bare, "/")+1:]
	if !strings.Contains(last, ":") && !strings.Contains(bare, "@") {
		v, _ := scandb.SchemaVersion(kind)
		bare = fmt.Sprintf("%s:%d", bare, v)
	}
	r, err := name.ParseReference(bare, append(opts, name.StrictValidation)...)
	if err != nil {
		return nil, inputErrorf("%s %q: %v; use REGISTRY/REPOSITORY[:TAG], e.g. %s", flag, ref, err, map[string]string{payload.ScanDBTrivy: scandb.DefaultTrivyDBRef, payload.ScanDBTrivyJava: scandb.DefaultTrivyJavaDBRef}[kind])
	}
	return r, nil
}

// pulledScanDB is a DB in the cache, checked, ready for the payload.
type pulledScanDB struct {
	db   payload.ScanDB
	path string // the layer blob in the cache
}

// pullScanDBs fetches and checks every DB the options ask for.
func pullScanDBs(ctx context.Context, s *settings, client *registryClient, cache *Cache) ([]*pulledScanDB, error) {
	refs := scanDBRefs(s)
	var out []*pulledScanDB
	for _, kind := range scandb.Kinds() {
		ref, ok := refs[kind]
		if !ok {
			continue
		}
		p, err := pullScanDB(ctx, s, client, cache, kind, ref)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// pullScanDB fetches kind's artifact from ref and checks it is one Trivy would use.
func pullScanDB(ctx context.Context, s *settings, client *registryClient, cache *Cache, kind, refStr string) (*pulledScanDB, error) {
	ref, err := scanDBRef(s, kind, refStr)
	if err != nil {
		return nil, err
	}
	desc, err := client.puller.Get(ctx, ref)
	if err != nil {
		return nil, scanDBPullError(kind, ref, err)
	}
	if !desc.MediaType.IsImage() {
		return nil, refuseScanDB(kind, ref, "its manifest is a %s, not the single OCI manifest Trivy pulls", desc.MediaType)
	}
	m, err := v1.ParseManifest(strings.NewReader(string(desc.Manifest)))
	if err != nil {
		return nil, &PullError{Ref: ref.String(), Err: fmt.Errorf("parsing the manifest: %w", err)}
	}
	want, _ := scandb.MediaType(kind)
	if len(m.Layers) != 1 {
		return nil, refuseScanDB(kind, ref, "it has %d layers; Trivy's DB artifact has exactly one", len(m.Layers))
	}
	l := m.Layers[0]
	if string(l.MediaType) != want {
		return nil, refuseScanDB(kind, ref, "its layer is %s; Trivy reads only %s", l.MediaType, want)
	}
	if l.Size <= 0 || l.Size > maxScanDBLayer {
		return nil, refuseScanDB(kind, ref, "its layer announces %d bytes (at most %d)", l.Size, int64(maxScanDBLayer))
	}
	task := "pull " + kind
	s.Progress.Start(task, l.Size)
	err = cache.Ensure(ctx, l.Digest, l.Size, client.blobFetcher(ref.Context(), l.Digest), func(n int64) { s.Progress.Add(task, n) })
	s.Progress.Done(task, err)
	if err != nil {
		return nil, &PullError{Ref: ref.String(), Err: fmt.Errorf("layer %s: %w", l.Digest, err)}
	}
	path := cache.Path(l.Digest)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	meta, err := scandb.Inspect(f, kind)
	f.Close()
	if err != nil {
		return nil, refuseScanDB(kind, ref, "%v", err)
	}
	return &pulledScanDB{path: path, db: payload.ScanDB{
		Kind: kind, Ref: ref.String(), ManifestDigest: desc.Digest.String(), MediaType: string(l.MediaType),
		Digest: l.Digest.String(), Size: l.Size, Metadata: meta,
	}}, nil
}

// refuseScanDB is an artifact that is not what Trivy publishes: bad input, exit 2.
func refuseScanDB(kind string, ref name.Reference, format string, args ...any) error {
	return &InputError{fmt.Errorf("%s %s is not a DB Trivy publishes: %s", kind, ref, fmt.Sprintf(format, args...))}
}

func scanDBPullError(kind string, ref name.Reference, err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch {
		case terr.StatusCode == http.StatusNotFound || hasCode(terr, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode):
			return inputErrorf("%s %s is not on registry %s: check --trivy-db-repository / --trivy-java-db-repository", kind, ref, ref.Context().RegistryStr())
		case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden:
			return &PullError{Ref: ref.String(), Err: fmt.Errorf("registry %s refused access (%d): log in with `docker login %s`", ref.Context().RegistryStr(), terr.StatusCode, ref.Context().RegistryStr())}
		}
	}
	return &PullError{Ref: ref.String(), Err: err}
}

// addScanDBs writes the pulled DBs into the payload and returns them for the manifest.
func addScanDBs(pw *payload.Writer, dbs []*pulledScanDB) ([]payload.ScanDB, error) {
	var out []payload.ScanDB
	for _, d := range dbs {
		f, err := os.Open(d.path)
		if err != nil {
			return nil, err
		}
		err = pw.AddScanDB(d.db, f)
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, d.db)
	}
	return out, nil
}
