package payload

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// A bundle may carry vulnerability databases for Harbor's scanner (Trivy): an upgrade bundle
// built with --with-trivy-db installs them with the new release, and a DB-only bundle (Kind
// KindTrivyDBRefresh, built with --trivy-db-only) refreshes them on a running Harbor without
// changing its version. Trivy publishes each DB as an OCI artifact with one layer, a gzip tar of
// the DB file and metadata.json; the bundle stores that layer exactly as pulled, as a blob of the
// OCI layout (images/blobs/sha256/<hex>, checked on read like every entry) that no image
// references, so the host gets the bytes the registry's digest vouches for.

// Manifest kinds.
const (
	// KindUpgrade (the empty kind) upgrades Harbor to Release.
	KindUpgrade = ""
	// KindTrivyDBRefresh only replaces the Trivy DBs of a running Harbor: no images, no
	// installer, no release change. Release is then empty.
	KindTrivyDBRefresh = "trivy-db-refresh"
)

// Scan DB kinds: the two artifacts Trivy publishes, and the directory each lives in under the
// adapter's cache (data_volume/trivy-adapter/trivy, mounted at /home/scanner/.cache/trivy).
const (
	ScanDBTrivy     = "trivy-db"      // ghcr.io/aquasecurity/trivy-db:2 -> db/trivy.db + db/metadata.json
	ScanDBTrivyJava = "trivy-java-db" // ghcr.io/aquasecurity/trivy-java-db:1 -> java-db/trivy-java.db + java-db/metadata.json
)

// ScanDB is one vulnerability database carried by the bundle.
type ScanDB struct {
	Kind string `yaml:"kind" json:"kind"` // ScanDBTrivy | ScanDBTrivyJava
	// Ref is where it was pulled from ("ghcr.io/aquasecurity/trivy-db:2", or a mirror's).
	Ref string `yaml:"ref" json:"ref"`
	// ManifestDigest is the artifact's manifest digest as the registry served it.
	ManifestDigest string `yaml:"manifest_digest" json:"manifest_digest"`
	// MediaType is the layer's ("application/vnd.aquasec.trivy.db.layer.v1.tar+gzip").
	MediaType string `yaml:"media_type" json:"media_type"`
	// Digest is the layer blob's "sha256:..."; the payload holds it at images/blobs/sha256/<hex>.
	Digest string `yaml:"digest" json:"digest"`
	Size   int64  `yaml:"size" json:"size"`
	// Metadata is the DB's metadata.json as read from the layer when the bundle was built.
	Metadata ScanDBMetadata `yaml:"metadata" json:"metadata"`
}

// ScanDBMetadata is Trivy's metadata.json (fields as Trivy writes them).
type ScanDBMetadata struct {
	Version      int    `yaml:"version" json:"Version"`
	NextUpdate   string `yaml:"next_update" json:"NextUpdate"`     // RFC 3339
	UpdatedAt    string `yaml:"updated_at" json:"UpdatedAt"`       // RFC 3339
	DownloadedAt string `yaml:"downloaded_at" json:"DownloadedAt"` // RFC 3339, may be empty
}

// BlobPath is the payload entry holding the DB's layer blob.
func (d ScanDB) BlobPath() string { return blobPath(d.Digest) }

// ScanDB returns the carried DB of kind, if any.
func (m *Manifest) ScanDB(kind string) (ScanDB, bool) {
	i := slices.IndexFunc(m.ScanDBs, func(d ScanDB) bool { return d.Kind == kind })
	if i < 0 {
		return ScanDB{}, false
	}
	return m.ScanDBs[i], true
}

// validateScanDBs checks every carried DB names a blob the payload holds, with its size, each
// kind at most once, and that a refresh bundle carries DBs and nothing of an upgrade.
func (m *Manifest) validateScanDBs() error {
	switch m.Kind {
	case KindUpgrade:
	case KindTrivyDBRefresh:
		if len(m.ScanDBs) == 0 {
			return errors.New("a trivy-db-refresh bundle carries no scan DB")
		}
		if len(m.Images) > 0 || len(m.Hops) > 0 {
			return errors.New("a trivy-db-refresh bundle carries images or hops")
		}
	default:
		return fmt.Errorf("unknown bundle kind %q", m.Kind)
	}
	byPath := make(map[string]Entry, len(m.Entries))
	for _, e := range m.Entries {
		byPath[e.Path] = e
	}
	seen := map[string]bool{}
	for _, d := range m.ScanDBs {
		if d.Kind != ScanDBTrivy && d.Kind != ScanDBTrivyJava {
			return fmt.Errorf("scan db kind %q is unknown (want %s or %s)", d.Kind, ScanDBTrivy, ScanDBTrivyJava)
		}
		if seen[d.Kind] {
			return fmt.Errorf("scan db %s listed twice", d.Kind)
		}
		seen[d.Kind] = true
		if !isDigest(d.Digest) || !isDigest(d.ManifestDigest) {
			return fmt.Errorf("scan db %s: digest %q or manifest digest %q is not sha256:<64 hex>", d.Kind, d.Digest, d.ManifestDigest)
		}
		e, ok := byPath[d.BlobPath()]
		if !ok {
			return fmt.Errorf("scan db %s: blob %s is not in the payload", d.Kind, d.Digest)
		}
		if e.Size != d.Size {
			return fmt.Errorf("scan db %s: size %d differs from its blob's %d", d.Kind, d.Size, e.Size)
		}
	}
	return nil
}

// AddScanDB writes a DB's layer blob (r yields exactly d.Size bytes) at images/blobs/sha256/<hex>
// of d.Digest, checking its sha256 on the way; the caller lists d in the Manifest's ScanDBs it
// closes the Writer with. No image references the blob, so no index entry is written for it.
func (w *Writer) AddScanDB(d ScanDB, r io.Reader) error {
	if err := w.usable(); err != nil {
		return err
	}
	if !isDigest(d.Digest) || d.Size < 0 || d.Size > maxEntrySize {
		return fmt.Errorf("adding scan db %s: digest %q or size %d is not valid", d.Kind, d.Digest, d.Size)
	}
	if _, err := w.addEntry(d.BlobPath(), 0o644, d.Size, r, strings.TrimPrefix(d.Digest, "sha256:"), nil); err != nil {
		return fmt.Errorf("adding scan db %s: %w", d.Kind, err)
	}
	return nil
}

// OpenScanDB returns the carried DB of kind and its layer blob, read by offset; as with
// OpenEntry, reading it to the end checks its sha256 (an *IntegrityError in place of io.EOF).
func (r *Reader) OpenScanDB(kind string) (ScanDB, io.ReadCloser, error) {
	d, ok := r.manifest.ScanDB(kind)
	if !ok {
		return ScanDB{}, nil, fmt.Errorf("the bundle carries no %s", kind)
	}
	rc, err := r.OpenEntry(d.BlobPath())
	if err != nil {
		return ScanDB{}, nil, err
	}
	return d, rc, nil
}
