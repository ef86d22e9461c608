package scandb

import (
	"fmt"
	"time"

	"github.com/harborbundle/bundle/payload"
)

// Where Trivy publishes its DBs, and the media type of each artifact's only layer.
const (
	DefaultTrivyDBRef     = "ghcr.io/aquasecurity/trivy-db:2"
	DefaultTrivyJavaDBRef = "ghcr.io/aquasecurity/trivy-java-db:1"
	MediaTypeTrivyDB      = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip"
	MediaTypeTrivyJavaDB  = "application/vnd.aquasec.trivy.javadb.layer.v1.tar+gzip"
	// MediaTypeTrivyConfig is the config (artifact type) Trivy's artifacts are pushed with
	// (`oras push --artifact-type`); Trivy does not read it.
	MediaTypeTrivyConfig = "application/vnd.aquasec.trivy.config.v1+json"
)

// AdapterUID and AdapterGID own the adapter's cache: user scanner of trivy-adapter-photon.
const AdapterUID, AdapterGID = 10000, 10000

// Modes Trivy leaves its DB files and directories with.
const (
	FileMode = 0o644
	DirMode  = 0o755
)

// Size bounds of a layer's files. The real trivy.db is about 1 GiB uncompressed and
// trivy-java.db a little more; metadata.json is about 150 bytes.
const (
	MaxDBFileSize   = 16 << 30
	MaxMetadataSize = 64 << 10
	metadataFile    = "metadata.json"
)

// spec is what one kind of DB is.
type spec struct {
	dir, dbFile, mediaType, defaultRef string
	schema                             int
}

var specs = map[string]spec{
	payload.ScanDBTrivy:     {dir: "db", dbFile: "trivy.db", mediaType: MediaTypeTrivyDB, defaultRef: DefaultTrivyDBRef, schema: 2},
	payload.ScanDBTrivyJava: {dir: "java-db", dbFile: "trivy-java.db", mediaType: MediaTypeTrivyJavaDB, defaultRef: DefaultTrivyJavaDBRef, schema: 1},
}

// Kinds lists the DB kinds in the order they are pulled, installed and shown.
func Kinds() []string { return []string{payload.ScanDBTrivy, payload.ScanDBTrivyJava} }

func lookup(kind string) (spec, error) {
	s, ok := specs[kind]
	if !ok {
		return spec{}, fmt.Errorf("scan db kind %q is unknown (want %s or %s)", kind, payload.ScanDBTrivy, payload.ScanDBTrivyJava)
	}
	return s, nil
}

// Layout returns the directory of kind under the adapter's cache dir and the files it holds
// (the DB file first, then metadata.json).
func Layout(kind string) (dir string, files []string, err error) {
	s, err := lookup(kind)
	if err != nil {
		return "", nil, err
	}
	return s.dir, []string{s.dbFile, metadataFile}, nil
}

// MediaType returns the media type of kind's layer.
func MediaType(kind string) (string, error) {
	s, err := lookup(kind)
	return s.mediaType, err
}

// DefaultRef returns where Trivy publishes kind.
func DefaultRef(kind string) (string, error) {
	s, err := lookup(kind)
	return s.defaultRef, err
}

// SchemaVersion returns the metadata Version the Trivy in Harbor's adapter expects of kind (the
// tag it pulls); with skip_update Trivy refuses a DB of another version.
func SchemaVersion(kind string) (int, error) {
	s, err := lookup(kind)
	return s.schema, err
}

// ParseTime parses one of metadata.json's times (RFC 3339, as encoding/json writes time.Time).
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q is not RFC 3339", s)
	}
	return t, nil
}

// Older reports whether a was updated before b (their UpdatedAt).
func Older(a, b payload.ScanDBMetadata) (bool, error) {
	ta, err := ParseTime(a.UpdatedAt)
	if err != nil {
		return false, fmt.Errorf("UpdatedAt: %w", err)
	}
	tb, err := ParseTime(b.UpdatedAt)
	if err != nil {
		return false, fmt.Errorf("UpdatedAt: %w", err)
	}
	return ta.Before(tb), nil
}
