package fakeharbor

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/scandb"
)

// Trivy's DB artifacts as ghcr.io serves them (aquasecurity/trivy-db .github/workflows/cron.yml
// and trivy-java-db's: `oras push --artifact-type application/vnd.aquasec.trivy.config.v1+json
// REPO:TAG db.tar.gz:<layer media type>`, the tar made by `tar czf ... -C DIR trivy.db
// metadata.json`): an OCI image manifest whose config is "{}" of the Trivy config media type and
// whose one layer, titled db.tar.gz (javadb.tar.gz), is the gzip tar of the DB file and
// metadata.json. The DB file here is a few deterministic bytes, not a bolt or sqlite file: only
// Trivy opens it, and the fake adapter only checks it is there.

// TrivyDBRepoTag is where Trivy's artifact of kind lives, as a path on a registry
// ("aquasecurity/trivy-db:2"): the fake Server serves it there.
func TrivyDBRepoTag(kind string) string {
	ref, _ := scandb.DefaultRef(kind)
	return ref[len("ghcr.io/"):]
}

// TrivyDBMetadata is the metadata.json of kind's DB built at updatedAt, as trivy-db writes it:
// the kind's schema version, NextUpdate a day later for the vulnerability DB (three days for the
// Java DB, as trivy-java-db), no DownloadedAt yet (Trivy sets it when it downloads).
func TrivyDBMetadata(kind string, updatedAt time.Time) payload.ScanDBMetadata {
	v, _ := scandb.SchemaVersion(kind)
	next := 24 * time.Hour
	if kind == payload.ScanDBTrivyJava {
		next = 72 * time.Hour
	}
	u := updatedAt.UTC()
	return payload.ScanDBMetadata{Version: v, UpdatedAt: u.Format(time.RFC3339Nano), NextUpdate: u.Add(next).Format(time.RFC3339Nano), DownloadedAt: "0001-01-01T00:00:00Z"}
}

// TrivyDBLayer is the layer of kind's DB built at updatedAt: deterministic bytes for a given
// kind and time.
func TrivyDBLayer(kind string, updatedAt time.Time) ([]byte, error) {
	_, files, err := scandb.Layout(kind)
	if err != nil {
		return nil, err
	}
	m := TrivyDBMetadata(kind, updatedAt)
	meta, err := json.Marshal(struct {
		Version                             int
		NextUpdate, UpdatedAt, DownloadedAt string
	}{m.Version, m.NextUpdate, m.UpdatedAt, m.DownloadedAt})
	if err != nil {
		return nil, err
	}
	db := fmt.Appendf(nil, "fake %s built %s\n", kind, m.UpdatedAt)
	return TrivyDBTarGz(updatedAt, map[string][]byte{files[0]: db, "metadata.json": append(meta, '\n')}, files[0], "metadata.json")
}

// TrivyDBTarGz writes the named files, in order, as a gzip tar the way the publishing workflow
// does (plain names, 0644, mtime t); tests use it to make hostile layers too.
func TrivyDBTarGz(t time.Time, files map[string][]byte, order ...string) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, n := range order {
		b := files[n]
		h := &tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b)), ModTime: t.UTC().Truncate(time.Second), Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(b); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// trivyArtifact is a DB artifact to push: its manifest as oras writes it, and its two blobs.
type trivyArtifact struct {
	raw           []byte
	config, layer v1.Layer
}

func (a trivyArtifact) RawManifest() ([]byte, error)        { return a.raw, nil }
func (a trivyArtifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// newTrivyArtifact wraps layer (with layer media type mediaType, title as oras names it) as
// Trivy's artifacts are built, created at created.
func newTrivyArtifact(layer []byte, mediaType types.MediaType, title string, created time.Time) (trivyArtifact, error) {
	config := static.NewLayer([]byte("{}"), scandb.MediaTypeTrivyConfig)
	l := static.NewLayer(layer, mediaType)
	desc := func(b []byte, mt types.MediaType) v1.Descriptor {
		sum := sha256.Sum256(b)
		return v1.Descriptor{MediaType: mt, Size: int64(len(b)), Digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}}
	}
	ld := desc(layer, mediaType)
	ld.Annotations = map[string]string{"org.opencontainers.image.title": title}
	m := v1.Manifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
		Config: desc([]byte("{}"), scandb.MediaTypeTrivyConfig), Layers: []v1.Descriptor{ld},
		Annotations: map[string]string{"org.opencontainers.image.created": created.UTC().Format(time.RFC3339)},
	}
	raw, err := json.Marshal(m)
	return trivyArtifact{raw: raw, config: config, layer: l}, err
}

// PushTrivyDB serves kind's DB built at updatedAt at repoTag ("aquasecurity/trivy-db:2", see
// TrivyDBRepoTag; any other repository for a mirror) and returns its reference on this registry
// and the layer's digest. Pushing again to the same tag replaces the DB, as a new build does.
func (s *Server) PushTrivyDB(ctx context.Context, kind, repoTag string, updatedAt time.Time) (ref string, layerDigest string, err error) {
	layer, err := TrivyDBLayer(kind, updatedAt)
	if err != nil {
		return "", "", err
	}
	mt, _ := scandb.MediaType(kind)
	return s.PushTrivyArtifact(ctx, kind, repoTag, layer, types.MediaType(mt), updatedAt)
}

// PushTrivyArtifact serves any layer bytes as kind's artifact at repoTag with the given layer
// media type: how a test serves a DB Trivy would refuse (another media type, a hostile tar).
func (s *Server) PushTrivyArtifact(ctx context.Context, kind, repoTag string, layer []byte, mediaType types.MediaType, created time.Time) (ref string, layerDigest string, err error) {
	title := "db.tar.gz"
	if kind == payload.ScanDBTrivyJava {
		title = "javadb.tar.gz"
	}
	a, err := newTrivyArtifact(layer, mediaType, title, created)
	if err != nil {
		return "", "", err
	}
	tag, err := name.NewTag(s.Ref(repoTag))
	if err != nil {
		return "", "", err
	}
	for _, l := range []v1.Layer{a.config, a.layer} {
		if err := remote.WriteLayer(tag.Context(), l, remote.WithContext(ctx)); err != nil {
			return "", "", fmt.Errorf("pushing %s to the fake registry: %w", repoTag, err)
		}
	}
	if err := remote.Put(tag, a, remote.WithContext(ctx)); err != nil {
		return "", "", fmt.Errorf("pushing %s to the fake registry: %w", repoTag, err)
	}
	d, _ := a.layer.Digest()
	return tag.String(), d.String(), nil
}

// TamperBlob makes the registry serve data for blob digest ("sha256:..."), whatever its digest:
// a registry (or a man in the middle) handing out bytes its manifest does not vouch for.
func (s *Server) TamperBlob(digest string, data []byte) error {
	h, err := v1.NewHash(digest)
	if err != nil {
		return err
	}
	s.blobs.mu.Lock()
	defer s.blobs.mu.Unlock()
	delete(s.blobs.files, h)
	s.blobs.mem[h] = data
	return nil
}
