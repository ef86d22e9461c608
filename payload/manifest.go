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
	SchemaVersion int         `yaml:"schema_version"`
	Release       string      `yaml:"release"`       // "v1.10.0"
	FromVersions  []string    `yaml:"from_versions"` // exact versions this bundle upgrades from
	Components    []string    `yaml:"components"`    // "core", "notary", "clair", "chartmuseum"
	Migration     Migration   `yaml:"migration"`
	InstallFlags  []string    `yaml:"install_flags"` // install.sh flags the target accepts
	Compression   Compression `yaml:"compression"`
	Builder       Builder     `yaml:"builder"`
	Installer     Installer   `yaml:"installer"`
	Signature     string      `yaml:"signature,omitempty"` // reserved for signing
	// Stub records the program the .run starts (package selfextract checks it): the manifest's
	// signature then covers the code that runs as root, not only the data it installs.
	Stub    Stub    `yaml:"stub,omitempty"`
	Images  []Image `yaml:"images"`
	Entries []Entry `yaml:"entries"` // every tar entry except manifest.yaml itself
}

// Stub is the executable part of a .run file, before the payload.
type Stub struct {
	Size   int64  `yaml:"size,omitempty"`
	SHA256 string `yaml:"sha256,omitempty"` // hex
}

// Migration says how harbor.yml is migrated to the target version.
type Migration struct {
	Method string   `yaml:"method"` // "harbor-migrator" | "prepare-migrate"
	Image  string   `yaml:"image"`  // reference of the image that migrates
	Args   []string `yaml:"args"`
}

// Compression records how the writer stored the layers.
type Compression struct {
	Algorithm string `yaml:"algorithm"` // "keep" | "zstd"
	Level     string `yaml:"level"`     // "" (keep) | "fastest" | "default" | "better" | "max"
}

// Builder records what built the payload and when; BuildTime is also every tar entry's ModTime.
type Builder struct {
	Version   string    `yaml:"version"`
	BuildTime time.Time `yaml:"build_time"`
}

// Installer records where the installer files came from.
type Installer struct {
	Source    string `yaml:"source"`
	SHA256    string `yaml:"sha256"`
	Signature string `yaml:"signature,omitempty"`
}

// Image is one image of the payload, stored in the OCI layout under images/.
type Image struct {
	Ref              string      `yaml:"ref"`             // "goharbor/harbor-core:v1.10.0"
	Component        string      `yaml:"component"`       // "core" | "notary" | ... | "migrator"
	ManifestDigest   string      `yaml:"manifest_digest"` // "sha256:..."
	ConfigDigest     string      `yaml:"config_digest"`   // == docker image ID after load
	Platform         string      `yaml:"platform"`        // "linux/amd64"
	Size             int64       `yaml:"size"`            // manifest+config+layers as stored
	UncompressedSize int64       `yaml:"uncompressed_size"`
	Layers           []LayerInfo `yaml:"layers"` // in the image manifest's order
}

// LayerInfo is one layer of an image. UncompressedSize is what lets DockerArchive write tar
// headers for decompressed layers without a first pass.
type LayerInfo struct {
	Digest           string `yaml:"digest"`  // of the blob as stored
	DiffID           string `yaml:"diff_id"` // of the uncompressed tar
	Size             int64  `yaml:"size"`
	UncompressedSize int64  `yaml:"uncompressed_size"`
}

// Entry is one tar entry. Offset is where its data starts, counted from the payload's first byte.
type Entry struct {
	Path   string `yaml:"path"`
	Size   int64  `yaml:"size"`
	SHA256 string `yaml:"sha256"` // hex
	Offset int64  `yaml:"offset"`
	Mode   uint32 `yaml:"mode"` // permission bits only
}

// ParseManifest decodes a manifest strictly (unknown fields are errors, one document only) and
// validates it: see (*Manifest).Validate.
func ParseManifest(b []byte) (*Manifest, error) {
	var head struct {
		SchemaVersion int `yaml:"schema_version"`
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
