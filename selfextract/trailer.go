package selfextract

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// TrailerSize is the fixed size of the trailer at the end of every .run file.
const TrailerSize = 4096

// FormatVersion is the trailer format this build writes and reads.
const FormatVersion = 1

// MaxSignatureSize bounds the signature slot of the trailer.
const MaxSignatureSize = 2048

// MaxManifestSize bounds the manifest a trailer may point at: a manifest lists entries, not data,
// so anything larger is hostile or broken, and we refuse it before allocating.
const MaxManifestSize = 64 << 20

var (
	startMagic = [16]byte{'H', 'A', 'R', 'B', 'O', 'R', '-', 'B', 'U', 'N', 'D', 'L', 'E', '-', 'T', '\n'}
	endMagic   = [16]byte{'H', 'A', 'R', 'B', 'O', 'R', '-', 'B', 'U', 'N', 'D', 'L', 'E', '-', 'E', '\n'}
)

// Byte layout of the trailer (big endian). The checksum covers everything before it.
const (
	offVersion        = 16
	offFlags          = 20
	offPayloadOffset  = 24
	offPayloadLength  = 32
	offManifestOffset = 40
	offManifestLength = 48
	offManifestSHA    = 56
	offSigLength      = 88
	offSig            = 90
	offChecksum       = TrailerSize - 48
	offEndMagic       = TrailerSize - 16
)

// ErrNoPayload means the file carries no bundle trailer: it is a plain binary (or not ours).
var ErrNoPayload = errors.New("no bundle payload attached")

// TrailerError reports a trailer that is present but unusable: corrupted, truncated file,
// unknown version, or offsets pointing outside the file.
type TrailerError struct{ Reason string }

func (e *TrailerError) Error() string { return "bundle trailer: " + e.Reason }

// Trailer locates the payload and its manifest inside a .run file.
type Trailer struct {
	Version        uint32
	PayloadOffset  uint64 // from the start of the file (= stub length)
	PayloadLength  uint64
	ManifestOffset uint64 // from the start of the payload
	ManifestLength uint64
	ManifestSHA256 [32]byte
	// Signature is an opaque signature over the manifest's sha256 (minisign format); empty when
	// the bundle is unsigned.
	Signature []byte
}

// MarshalBinary encodes t as exactly TrailerSize bytes.
func (t Trailer) MarshalBinary() ([]byte, error) {
	if len(t.Signature) > MaxSignatureSize {
		return nil, fmt.Errorf("signature of %d bytes does not fit the trailer (max %d)", len(t.Signature), MaxSignatureSize)
	}
	b := make([]byte, TrailerSize)
	copy(b, startMagic[:])
	v := t.Version
	if v == 0 {
		v = FormatVersion
	}
	be := binary.BigEndian
	be.PutUint32(b[offVersion:], v)
	be.PutUint64(b[offPayloadOffset:], t.PayloadOffset)
	be.PutUint64(b[offPayloadLength:], t.PayloadLength)
	be.PutUint64(b[offManifestOffset:], t.ManifestOffset)
	be.PutUint64(b[offManifestLength:], t.ManifestLength)
	copy(b[offManifestSHA:], t.ManifestSHA256[:])
	be.PutUint16(b[offSigLength:], uint16(len(t.Signature)))
	copy(b[offSig:], t.Signature)
	sum := sha256.Sum256(b[:offChecksum])
	copy(b[offChecksum:], sum[:])
	copy(b[offEndMagic:], endMagic[:])
	return b, nil
}

// ParseTrailer decodes the last TrailerSize bytes of a file of fileSize bytes and checks that
// everything it points at lies inside the file.
func ParseTrailer(b []byte, fileSize int64) (Trailer, error) {
	if len(b) != TrailerSize || !bytes.Equal(b[offEndMagic:], endMagic[:]) {
		return Trailer{}, ErrNoPayload
	}
	if !bytes.Equal(b[:16], startMagic[:]) {
		return Trailer{}, &TrailerError{"start marker damaged (file corrupted or truncated)"}
	}
	sum := sha256.Sum256(b[:offChecksum])
	if !bytes.Equal(sum[:], b[offChecksum:offEndMagic]) {
		return Trailer{}, &TrailerError{"checksum mismatch (the trailer was damaged)"}
	}
	be := binary.BigEndian
	t := Trailer{
		Version:        be.Uint32(b[offVersion:]),
		PayloadOffset:  be.Uint64(b[offPayloadOffset:]),
		PayloadLength:  be.Uint64(b[offPayloadLength:]),
		ManifestOffset: be.Uint64(b[offManifestOffset:]),
		ManifestLength: be.Uint64(b[offManifestLength:]),
	}
	copy(t.ManifestSHA256[:], b[offManifestSHA:])
	if t.Version != FormatVersion {
		return Trailer{}, &TrailerError{fmt.Sprintf("format version %d is not supported by this build (it reads %d); use a matching bundle release", t.Version, FormatVersion)}
	}
	if be.Uint32(b[offFlags:]) != 0 {
		return Trailer{}, &TrailerError{"unknown flags set"}
	}
	sigLen := int(be.Uint16(b[offSigLength:]))
	if sigLen > MaxSignatureSize {
		return Trailer{}, &TrailerError{"signature length out of range"}
	}
	if sigLen > 0 {
		t.Signature = append([]byte(nil), b[offSig:offSig+sigLen]...)
	}
	if err := t.check(fileSize); err != nil {
		return Trailer{}, err
	}
	return t, nil
}

// check refuses offsets that leave the file; written to avoid u64 overflow.
func (t Trailer) check(fileSize int64) error {
	if fileSize < TrailerSize {
		return &TrailerError{"file shorter than its trailer"}
	}
	body := uint64(fileSize - TrailerSize)
	if t.PayloadOffset > body || t.PayloadLength != body-t.PayloadOffset {
		return &TrailerError{fmt.Sprintf("payload at %d+%d does not end where the trailer starts (%d): file truncated or joined wrongly", t.PayloadOffset, t.PayloadLength, body)}
	}
	if t.ManifestLength == 0 || t.ManifestLength > MaxManifestSize {
		return &TrailerError{fmt.Sprintf("manifest length %d out of range", t.ManifestLength)}
	}
	if t.ManifestOffset > t.PayloadLength || t.ManifestLength > t.PayloadLength-t.ManifestOffset {
		return &TrailerError{"manifest lies outside the payload"}
	}
	return nil
}
