package selfextract

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/progress"
	"github.com/harborbundle/bundle/sign"
)

// Info describes a bundle from its trailer and manifest, without reading the payload body.
type Info struct {
	File           string            `json:"file"`
	Parts          []string          `json:"parts,omitempty"`
	Size           int64             `json:"size"`
	PayloadOffset  int64             `json:"payloadOffset"`
	PayloadLength  int64             `json:"payloadLength"`
	ManifestSHA256 string            `json:"manifestSHA256"`
	Signed         bool              `json:"signed"`
	Manifest       *payload.Manifest `json:"manifest"`
}

// OpenPayload checks the manifest against the trailer's sha256 and returns a reader of the
// payload. Nothing in the payload is trusted before this succeeds.
func (b *Bundle) OpenPayload() (*payload.Reader, error) {
	t := b.Trailer
	r, err := payload.Open(b.Payload, int64(t.PayloadLength), int64(t.ManifestOffset), int64(t.ManifestLength), t.ManifestSHA256)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Path, err)
	}
	return r, nil
}

// Info describes the opened bundle; the manifest must already have been checked (pr).
func (b *Bundle) Info(pr *payload.Reader) *Info {
	return &Info{
		File:           b.Path,
		Size:           b.Size,
		PayloadOffset:  int64(b.Trailer.PayloadOffset),
		PayloadLength:  int64(b.Trailer.PayloadLength),
		ManifestSHA256: hex.EncodeToString(b.Trailer.ManifestSHA256[:]),
		Signed:         len(b.Trailer.Signature) > 0,
		Manifest:       pr.Manifest(),
	}
}

// OpenAny opens a bundle given as one file or as all of its parts. Parts are read in place, in
// part-number order, without hashing them: the trailer refuses a missing or extra part (the offsets
// no longer fit) and the manifest's sha256 is checked as for a whole file. Verify checks each part
// against NAME.run.sha256 as well.
func OpenAny(paths []string) (*Bundle, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no bundle file given")
	}
	if len(paths) == 1 && !IsPart(paths[0]) {
		return Open(paths[0])
	}
	ordered := append([]string(nil), paths...)
	for _, p := range ordered {
		if !IsPart(p) {
			return nil, fmt.Errorf("%s is not a part (NAME.run.001, ...): give either the .run or all of its parts", p)
		}
	}
	sort.Slice(ordered, func(i, j int) bool { return partNumber(ordered[i]) < partNumber(ordered[j]) })
	return OpenParts(ordered)
}

// Inspect opens the bundle at paths (one file, or all parts) and describes it.
func Inspect(paths []string) (*Info, error) {
	b, err := OpenAny(paths)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	pr, err := b.OpenPayload()
	if err != nil {
		return nil, err
	}
	info := b.Info(pr)
	if len(paths) > 1 || IsPart(paths[0]) {
		info.Parts = paths
	}
	return info, nil
}

// PartStatus is the result of checking one part of a split bundle against NAME.run.sha256.
type PartStatus struct {
	Path string `json:"path"`
	OK   bool   `json:"ok"`
}

// VerifyResult is what Verify checked.
type VerifyResult struct {
	Info *Info `json:"info,omitempty"`
	// Parts lists the parts checked against their sha256 when parts were given.
	Parts []PartStatus `json:"parts,omitempty"`
	// Complete is true when the whole bundle (every entry against the manifest) was verified;
	// false when only some parts were given and only they could be checked.
	Complete bool `json:"complete"`
	// Signature is "unsigned", "signed (not checked: no key given)" or "valid (key ID ...)".
	Signature string        `json:"signature,omitempty"`
	Bytes     int64         `json:"bytes"`
	Duration  time.Duration `json:"duration"`
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Key, when set, must have signed the bundle: unsigned or wrongly signed bundles fail.
	Key      *sign.PublicKey
	Progress progress.Reporter
}

// Verify checks a bundle in one streaming pass: trailer, manifest hash, then every entry of the
// payload against the manifest. Given parts of a split bundle it first checks each part against
// NAME.run.sha256 (naming the bad part), then, when all parts are there, the joined content, read
// in place without making a joined copy.
func Verify(ctx context.Context, paths []string, opts VerifyOptions) (*VerifyResult, error) {
	start := time.Now()
	res := &VerifyResult{}
	if len(paths) > 1 || (len(paths) == 1 && IsPart(paths[0])) {
		all, err := CheckParts(paths)
		if err != nil {
			return nil, err
		}
		for _, path := range paths {
			res.Parts = append(res.Parts, PartStatus{Path: path, OK: true})
		}
		if all == nil {
			res.Duration = time.Since(start)
			return res, nil
		}
		paths = all
	}
	// Parts were hashed just above: open them as they are rather than through OpenAny's checks.
	b, err := OpenParts(paths)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	pr, err := b.OpenPayload()
	if err != nil {
		return nil, err
	}
	// The signature covers the manifest's sha256: check it first, so a wrongly signed bundle is
	// refused without reading the rest.
	prov, err := b.CheckProvenance(pr.Manifest(), opts.Key)
	if err != nil {
		return nil, err
	}
	res.Signature = prov.String()
	if err := pr.Verify(ctx, progress.Or(opts.Progress)); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Path, err)
	}
	res.Info = b.Info(pr)
	res.Complete = true
	res.Bytes = b.Size
	res.Duration = time.Since(start)
	return res, nil
}

// Provenance says what is known of who made a bundle.
type Provenance struct {
	// Signer is the key ID the embedded signature names; empty when unsigned.
	Signer string `json:"signer,omitempty"`
	// Checked is true when the signature was verified against a trusted key.
	Checked bool `json:"checked"`
}

func (p Provenance) String() string {
	switch {
	case p.Checked:
		return "valid (key ID " + p.Signer + ")"
	case p.Signer == "":
		return "unsigned"
	}
	return "signed by key ID " + p.Signer + " (not checked: no key given)"
}

// CheckProvenance checks the program part of the file against the manifest and, when key is
// set, the embedded signature against key (an unsigned or wrongly signed bundle is then a
// *SignatureError). Without a key it reports what the bundle claims, for the caller to warn.
func (b *Bundle) CheckProvenance(m *payload.Manifest, key *sign.PublicKey) (Provenance, error) {
	if err := b.VerifyStub(m); err != nil {
		return Provenance{}, err
	}
	if key != nil {
		if err := b.CheckSignature(key); err != nil {
			return Provenance{}, err
		}
		return Provenance{Signer: key.ID.String(), Checked: true}, nil
	}
	sig, err := b.EmbeddedSignature()
	if err != nil || sig == nil {
		return Provenance{}, err
	}
	return Provenance{Signer: sig.KeyID.String()}, nil
}

// VerifyStub checks the executable part of the file against the digest the manifest records, so
// that a .run whose program was swapped (the part that runs as root) fails verification even
// though its payload and signature are intact.
func (b *Bundle) VerifyStub(m *payload.Manifest) error {
	if m.Stub.SHA256 == "" {
		return &payload.IntegrityError{Path: "stub", Reason: "the manifest records no stub digest (built by an older bundle?); rebuild the bundle"}
	}
	if m.Stub.Size != int64(b.Trailer.PayloadOffset) {
		return &payload.IntegrityError{Path: "stub", Reason: fmt.Sprintf("the program is %d bytes, the manifest says %d", b.Trailer.PayloadOffset, m.Stub.Size)}
	}
	h := sha256.New()
	if _, err := io.CopyBuffer(h, io.NewSectionReader(b.r, 0, m.Stub.Size), make([]byte, 1<<20)); err != nil {
		return fmt.Errorf("reading the program part of %s: %w", b.Path, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != m.Stub.SHA256 {
		return &payload.IntegrityError{Path: "stub", Reason: "sha256 mismatch: the program part of this file was changed"}
	}
	return nil
}
