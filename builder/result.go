package builder

import (
	"encoding/hex"
	"strings"
	"time"

	"github.com/harborbundle/bundle/payload"
)

// Result is what a build wrote, for the summary (and `-o json`).
type Result struct {
	File         string `json:"file"` // the .run (removed when split: see Parts)
	Parts        []Part `json:"parts,omitempty"`
	ChecksumFile string `json:"checksumFile"`
	// SignatureFile is NAME.run.minisig when the bundle was signed (its trailer then also
	// carries a signature of the manifest).
	SignatureFile string          `json:"signatureFile,omitempty"`
	Size          int64           `json:"size"`
	SHA256        string          `json:"sha256"` // of the whole .run
	Release       string          `json:"release"`
	FromVersions  []string        `json:"fromVersions"`
	Components    []string        `json:"components"`
	Compression   string          `json:"compression"` // "zstd default", "keep"
	Images        []ImageResult   `json:"images"`
	Installer     InstallerResult `json:"installer"`
	BuildTime     time.Time       `json:"buildTime"`
	Seconds       float64         `json:"seconds"` // wall time of the build
	Cache         CacheStats      `json:"cache"`
	// Hops and Chains are those of a multi-hop bundle, as its manifest has them.
	Hops   []payload.Hop   `json:"hops,omitempty"`
	Chains []payload.Chain `json:"chains,omitempty"`
	// Kind is the manifest's ("" upgrade, "trivy-db-refresh"); ScanDBs are the Trivy DBs carried.
	Kind    string           `json:"kind,omitempty"`
	ScanDBs []payload.ScanDB `json:"scanDBs,omitempty"`
}

// Part is one piece of a split bundle (--split).
type Part struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ImageResult is one image of the bundle.
type ImageResult struct {
	Ref            string `json:"ref"`
	Component      string `json:"component"`
	ManifestDigest string `json:"manifestDigest"`
	ConfigDigest   string `json:"configDigest"` // the image ID after docker load
	Size           int64  `json:"size"`
}

// InstallerResult says where the installer files came from.
type InstallerResult struct {
	Source    string   `json:"source"`
	SHA256    string   `json:"sha256"`
	Signature string   `json:"signature"` // "gpg: good signature from KEYID", "none", ...
	Files     []string `json:"files"`
}

func newResult(p *plan, m *payload.Manifest, inst *installer, whole [32]byte, size int64) *Result {
	res := &Result{
		File: p.output, Size: size, SHA256: hex.EncodeToString(whole[:]),
		Release: m.Release, FromVersions: m.FromVersions, Components: m.Components,
		Compression: strings.TrimSpace(m.Compression.Algorithm + " " + m.Compression.Level),
		Installer:   InstallerResult{Source: inst.Source, SHA256: inst.SHA256, Signature: inst.Signature},
		BuildTime:   m.Builder.BuildTime,
		Hops:        m.Hops, Chains: m.Chains,
		Kind: m.Kind, ScanDBs: m.ScanDBs,
	}
	for _, img := range m.Images {
		res.Images = append(res.Images, ImageResult{Ref: img.Ref, Component: img.Component, ManifestDigest: img.ManifestDigest, ConfigDigest: img.ConfigDigest, Size: img.Size})
	}
	for _, f := range inst.Files {
		res.Installer.Files = append(res.Installer.Files, f.Name)
	}
	return res
}
