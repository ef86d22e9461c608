package sign

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"io"
	"os"
)

// PublicKey is a minisign public key: it verifies signatures made by the matching SecretKey.
type PublicKey struct {
	ID  KeyID
	Key ed25519.PublicKey
	// Comment is the untrusted comment of the key file ("minisign public key <ID>" for keys we
	// make). Nothing is decided on it.
	Comment string
}

const publicKeyLen = 2 + 8 + ed25519.PublicKeySize

// ReadPublicKey reads a public key file written by `bundle keygen` or `minisign -G`.
func ReadPublicKey(path string) (*PublicKey, error) {
	data, err := readSmallFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading public key: %w", err)
	}
	pk, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("reading public key %s: %w", path, err)
	}
	return pk, nil
}

// ParsePublicKey parses a public key file, or the bare base64 line minisign prints for -P.
func ParsePublicKey(data []byte) (*PublicKey, error) {
	lines, err := splitLines(data, "public key")
	if err != nil {
		return nil, err
	}
	pk := &PublicKey{}
	switch {
	case len(lines) == 2:
		if pk.Comment, err = untrustedComment(lines[0], "public key"); err != nil {
			return nil, err
		}
		lines = lines[1:]
	case len(lines) != 1:
		return nil, malformedf("public key: expected an untrusted comment line and a base64 line, got %d lines", len(lines))
	}
	raw, err := decodeFixed(lines[0], publicKeyLen, "public key")
	if err != nil {
		return nil, err
	}
	if string(raw[:2]) != algLegacy {
		return nil, fmt.Errorf("public key: %w %q (minisign keys are %q)", ErrUnsupportedAlgorithm, raw[:2], algLegacy)
	}
	copy(pk.ID[:], raw[2:10])
	pk.Key = ed25519.PublicKey(bytes.Clone(raw[10:]))
	return pk, nil
}

// Marshal returns the public key file text, in the format `minisign -G` writes.
func (pk *PublicKey) Marshal() []byte {
	var buf bytes.Buffer
	comment := pk.Comment
	if comment == "" {
		comment = defaultPublicComment(pk.ID)
	}
	writeComment(&buf, untrustedPrefix, truncate(comment, maxUntrustedComment))
	buf.WriteString(pk.String())
	buf.WriteByte('\n')
	return buf.Bytes()
}

// String returns the key as the one base64 line minisign accepts with -P.
func (pk *PublicKey) String() string {
	raw := make([]byte, 0, publicKeyLen)
	raw = append(raw, algLegacy...)
	raw = append(raw, pk.ID[:]...)
	raw = append(raw, pk.Key...)
	return base64.StdEncoding.EncodeToString(raw)
}

// Equal reports whether two public keys are the same key with the same ID.
func (pk *PublicKey) Equal(other *PublicKey) bool {
	return other != nil && pk.ID == other.ID && pk.Key.Equal(other.Key)
}

func defaultPublicComment(id KeyID) string { return "minisign public key " + id.String() }

// truncate cuts s to at most n bytes (comments are free text; we only bound their size).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// readSmallFile reads a key or signature file, refusing anything much larger than one could be.
func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f, path)
}

func readLimited(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a minisign key or signature file", name, maxFileSize)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%s is empty", name)
	}
	return data, nil
}
