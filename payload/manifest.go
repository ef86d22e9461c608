package payload

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"gopkg.in/yaml.v3"
)

// ManifestName is the tar entry holding the manifest; always the last entry of the payload.
const ManifestName = "manifest.yaml"

// SchemaVersion is the manifest schema this package writes and the only one it reads.
const SchemaVersion = 1

// MaxManifestSize bounds the manifest the reader accepts, so that a hostile trailer cannot make
// it allocate gigabytes. A release with thousands of blobs stays far below it.
const MaxManifestSize = 16 << 20

// Manifest describes a payload: what it upgrades, how, and every tar entry with its sha256.
type Manifest struct {
	SchemaVersion int         `yaml:"schema_version" json:"schema_version"`
	Release       string      `yaml:"release" json:"release"`             // "v1.10.0"
	FromVersions  []string    `yaml:"from_versions" json:"from_versions"` // exact versions this bundle upgrades from
	Components    []string    `yaml:"components" json:"components"`       // "core", "notary", "clair", "chartmuseum"
	Migration     Migration   `yaml:"migration" json:"migration"`
	InstallFlags  []string    `yaml:"install_flags" json:"install_flags"` // install.sh flags the target accepts
	Compression   Compression `yaml:"compression" json:"compression"`
	Builder       Builder     `yaml:"builder" json:"builder"`
	Installer     Installer   `yaml:"installer" json:"installer"`
	Signature     string      `yaml:"signature,omitempty" json:"signature,omitempty"` // reserved for signing
	// Stub records the program the .run starts (package selfextract checks it): the manifest's
	// signature then covers the code that runs as root, not only the data it installs.
	Stub    Stub    `yaml:"stub,omitempty" json:"stub,omitempty"`
	Images  []Image `yaml:"images" json:"images"`
	Entries []Entry `yaml:"entries" json:"entries"` // every tar entry except manifest.yaml itself
	// Hops and Chains are set only in a multi-hop bundle (see hops.go); a one-hop bundle has
	// neither and reads exactly as before.
	Hops   []Hop   `yaml:"hops,omitempty" json:"hops,omitempty"`
	Chains []Chain `yaml:"chains,omitempty" json:"chains,omitempty"`

	// Kind is KindUpgrade (empty) or KindTrivyDBRefresh; ScanDBs are the vulnerability DBs
	// carried (see scandb.go).
	Kind    string   `yaml:"kind,omitempty" json:"kind,omitempty"`
	ScanDBs []ScanDB `yaml:"scan_dbs,omitempty" json:"scan_dbs,omitempty"`
}

// Stub is the executable part of a .run file, before the payload.
type Stub struct {
	Size   int64  `yaml:"size,omitempty" json:"size,omitempty"`
	SHA256 string `yaml:"sha256,omitempty" json:"sha256,omitempty"` // hex
}

// Migration says how harbor.yml is migrated to the target version.
type Migration struct {
	Method string   `yaml:"method" json:"method"` // "harbor-migrator" | "prepare-migrate"
	Image  string   `yaml:"image" json:"image"`   // reference of the image that migrates
	Args   []string `yaml:"args" json:"args"`
}

// Compression records how the writer stored the layers.
type Compression struct {
	Algorithm string `yaml:"algorithm" json:"algorithm"` // "keep" | "zstd"
	Level     string `yaml:"level" json:"level"`         // "" (keep) | "fastest" | "default" | "better" | "max"
}

// Builder records what built the payload and when; BuildTime is also every tar entry's ModTime.
type Builder struct {
	Version   string    `yaml:"version" json:"version"`
	BuildTime time.Time `yaml:"build_time" json:"build_time"`
}

// Installer records where the installer files came from.
type Installer struct {
	Source    string `yaml:"source" json:"source"`
	SHA256    string `yaml:"sha256" json:"sha256"`
	Signature string `yaml:"signature,omitempty" json:"signature,omitempty"`
}

// Image is one image of the payload, stored in the OCI layout under images/.
type Image struct {
	Ref              string      `yaml:"ref" json:"ref"`                         // "goharbor/harbor-core:v1.10.0"
	Component        string      `yaml:"component" json:"component"`             // "core" | "notary" | ... | "migrator"
	ManifestDigest   string      `yaml:"manifest_digest" json:"manifest_digest"` // "sha256:..."
	ConfigDigest     string      `yaml:"config_digest" json:"config_digest"`     // == docker image ID after load
	Platform         string      `yaml:"platform" json:"platform"`               // "linux/amd64"
	Size             int64       `yaml:"size" json:"size"`                       // manifest+config+layers as stored
	UncompressedSize int64       `yaml:"uncompressed_size" json:"uncompressed_size"`
	Layers           []LayerInfo `yaml:"layers" json:"layers"` // in the image manifest's order
}

// LayerInfo is one layer of an image. UncompressedSize is what lets DockerArchive write tar
// headers for decompressed layers without a first pass.
type LayerInfo struct {
	Digest           string `yaml:"digest" json:"digest"`   // of the blob as stored
	DiffID           string `yaml:"diff_id" json:"diff_id"` // of the uncompressed tar
	Size             int64  `yaml:"size" json:"size"`
	UncompressedSize int64  `yaml:"uncompressed_size" json:"uncompressed_size"`
}

// Entry is one tar entry. Offset is where its data starts, counted from the payload's first byte.
type Entry struct {
	Path   string `yaml:"path" json:"path"`
	Size   int64  `yaml:"size" json:"size"`
	SHA256 string `yaml:"sha256" json:"sha256"` // hex
	Offset int64  `yaml:"offset" json:"offset"`
	Mode   uint32 `yaml:"mode" json:"mode"` // permission bits only
}

// ParseManifest decodes a manifest strictly (unknown fields are errors, one document only) and
// validates it: see (*Manifest).Validate.
func ParseManifest(b []byte) (*Manifest, error) {
	var head struct {
		SchemaVersion int `yaml:"schema_version" json:"schema_version"`
	}
	if err := yaml.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("parsing manifest: %w", err)
	}
	if head.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("parsing manifest: schema version %d is not supported (this tool reads %d): use a bundle tool of the same release as the bundle", head.SchemaVersion, SchemaVersion)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parsing manifest: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("parsing manifest: more than one YAML document")
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("parsing manifest: %w", err)
	}
	return &m, nil
}

// Marshal encodes the manifest as YAML. It validates first, so a writer cannot produce a
// manifest that its reader would refuse.
func (m *Manifest) Marshal() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("marshalling manifest: %w", err)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("marshalling manifest: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshalling manifest: %w", err)
	}
	return buf.Bytes(), nil
}

// entry returns the manifest's entry for path, if any.
func (m *Manifest) entry(path string) (Entry, bool) {
	for _, e := range m.Entries {
		if e.Path == path {
			return e, true
		}
	}
	return Entry{}, false
}

// blobPath is where the OCI layout keeps a blob of the given "sha256:<hex>" digest.
func blobPath(digest string) string {
	return "images/blobs/sha256/" + digest[len("sha256:"):]
}
