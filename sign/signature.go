package sign

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Signature is one minisign signature: the .minisig file's content.
type Signature struct {
	// Prehashed is true for "ED" signatures (over BLAKE2b-512 of the content), false for legacy
	// "Ed" ones (over the content itself).
	Prehashed bool
	// KeyID names the key that made the signature.
	KeyID KeyID
	// Sig is the ed25519 signature over the content (or its hash).
	Sig [ed25519.SignatureSize]byte
	// UntrustedComment is not signed: anyone can change it, so nothing may depend on it.
	UntrustedComment string
	// TrustedComment is signed by GlobalSig together with Sig.
	TrustedComment string
	// GlobalSig is the ed25519 signature over Sig || TrustedComment.
	GlobalSig [ed25519.SignatureSize]byte
}

// Size limits for the signatures we make, so that Marshal of any signature made by this
// package fits MaxMarshalledSize (the trailer keeps a 2048-byte slot for it).
const (
	// MaxTrustedComment is the longest trusted comment Sign accepts, in bytes.
	MaxTrustedComment = 1024
	// maxOwnUntrustedComment bounds the untrusted comment Marshal writes for signatures it made.
	maxOwnUntrustedComment = 256
	// MaxMarshalledSize bounds the length of Marshal's output for a signature made by Sign,
	// SignBytes or SignPrehashed with a default untrusted comment.
	MaxMarshalledSize = len(untrustedPrefix) + maxOwnUntrustedComment + 1 + sigLineLen + 1 +
		len(trustedPrefix) + MaxTrustedComment + 1 + globalLineLen + 1

	sigStructLen  = 2 + 8 + ed25519.SignatureSize
	sigLineLen    = (sigStructLen + 2) / 3 * 4
	globalLineLen = (ed25519.SignatureSize + 2) / 3 * 4
)

// ReadSignature reads a .minisig file.
func ReadSignature(path string) (*Signature, error) {
	data, err := readSmallFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading signature: %w", err)
	}
	sig, err := ParseSignature(data)
	if err != nil {
		return nil, fmt.Errorf("reading signature %s: %w", path, err)
	}
	return sig, nil
}

// ParseSignature parses the text of a .minisig file: four lines, as minisign writes them.
func ParseSignature(data []byte) (*Signature, error) {
	lines, err := splitLines(data, "signature")
	if err != nil {
		return nil, err
	}
	if len(lines) != 4 {
		return nil, malformedf("signature: expected 4 lines (untrusted comment, signature, trusted comment, global signature), got %d", len(lines))
	}
	sig := &Signature{}
	if sig.UntrustedComment, err = untrustedComment(lines[0], "signature"); err != nil {
		return nil, err
	}
	raw, err := decodeFixed(lines[1], sigStructLen, "signature")
	if err != nil {
		return nil, err
	}
	switch string(raw[:2]) {
	case algPrehashed:
		sig.Prehashed = true
	case algLegacy:
	default:
		return nil, fmt.Errorf("signature: %w %q (minisign signatures are %q or %q)", ErrUnsupportedAlgorithm, raw[:2], algPrehashed, algLegacy)
	}
	copy(sig.KeyID[:], raw[2:10])
	copy(sig.Sig[:], raw[10:])
	if sig.TrustedComment, err = trustedComment(lines[2]); err != nil {
		return nil, err
	}
	global, err := decodeFixed(lines[3], ed25519.SignatureSize, "signature: global signature")
	if err != nil {
		return nil, err
	}
	copy(sig.GlobalSig[:], global)
	return sig, nil
}

func trustedComment(line string) (string, error) {
	c, ok := strings.CutPrefix(line, trustedPrefix)
	if !ok {
		return "", malformedf("signature: the third line must start with %q", trustedPrefix)
	}
	if len(c) > maxTrustedCommentParsed {
		return "", malformedf("signature: trusted comment longer than %d bytes", maxTrustedCommentParsed)
	}
	if err := checkCommentChars(c); err != nil {
		return "", malformedf("signature: trusted comment %v", err)
	}
	return c, nil
}

// Marshal returns the .minisig file text. Line breaks in the comments are replaced by spaces
// (a trusted comment changed that way no longer verifies, but the file stays well-formed).
func (s *Signature) Marshal() []byte {
	var buf bytes.Buffer
	buf.Grow(MaxMarshalledSize)
	writeComment(&buf, untrustedPrefix, truncate(s.UntrustedComment, maxUntrustedComment))
	raw := make([]byte, 0, sigStructLen)
	if s.Prehashed {
		raw = append(raw, algPrehashed...)
	} else {
		raw = append(raw, algLegacy...)
	}
	raw = append(raw, s.KeyID[:]...)
	raw = append(raw, s.Sig[:]...)
	writeBase64(&buf, raw)
	writeComment(&buf, trustedPrefix, s.TrustedComment)
	writeBase64(&buf, s.GlobalSig[:])
	return buf.Bytes()
}

// DefaultTrustedComment is the trusted comment minisign writes for a prehashed signature of
// file made at t ("timestamp:T\tfile:NAME\thashed"). Pass a fixed t (SOURCE_DATE_EPOCH) for
// reproducible signatures: ed25519 signatures are deterministic.
func DefaultTrustedComment(file string, t time.Time) string {
	return "timestamp:" + strconv.FormatInt(t.Unix(), 10) + "\tfile:" + file + "\thashed"
}
