package sign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"os"

	"golang.org/x/crypto/blake2b"
)

// SecretKey is a minisign secret key: it makes signatures that the matching PublicKey verifies.
type SecretKey struct {
	ID KeyID
	// Key is the ed25519 private key (seed and public key, as libsodium stores it).
	Key ed25519.PrivateKey
	// Comment is the untrusted comment of the key file.
	Comment string
}

// Layout of the binary secret key structure.
const (
	secretKeyLen  = 2 + 2 + 2 + saltLen + 8 + 8 + keynumSKLen
	saltLen       = 32
	keynumSKLen   = 8 + ed25519.PrivateKeySize + checksumLen // encrypted as one block
	checksumLen   = 32
	offKDF        = 2
	offChk        = 4
	offSalt       = 6
	offOpsLimit   = offSalt + saltLen
	offMemLimit   = offOpsLimit + 8
	offKeynumSK   = offMemLimit + 8
	defaultSecret = "minisign secret key (unencrypted: keep it secret, keep it mode 600)"
)

// GenerateKey makes a new key pair with a random key ID. comment becomes the secret key file's
// untrusted comment (a default when empty); the public key's comment names its key ID, as
// minisign's does.
func GenerateKey(comment string) (*PublicKey, *SecretKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating ed25519 key: %w", err)
	}
	sk := &SecretKey{Key: priv, Comment: comment}
	if sk.Comment == "" {
		sk.Comment = defaultSecret
	}
	if _, err := rand.Read(sk.ID[:]); err != nil {
		return nil, nil, fmt.Errorf("generating key ID: %w", err)
	}
	return &PublicKey{ID: sk.ID, Key: pub, Comment: defaultPublicComment(sk.ID)}, sk, nil
}

// Public returns the public half of the key pair.
func (sk *SecretKey) Public() *PublicKey {
	pub := bytes.Clone(sk.Key[32:])
	return &PublicKey{ID: sk.ID, Key: ed25519.PublicKey(pub), Comment: defaultPublicComment(sk.ID)}
}

// Marshal returns the secret key file text, unencrypted, in the format `minisign -G -W` writes.
// It carries the checksum too (minisign leaves it zero in unencrypted keys and ignores it).
func (sk *SecretKey) Marshal() []byte {
	raw := make([]byte, secretKeyLen)
	copy(raw, algLegacy)
	copy(raw[offKDF:], kdfNone)
	copy(raw[offChk:], chkBLAKE2b)
	copy(raw[offKeynumSK:], sk.ID[:])
	copy(raw[offKeynumSK+8:], sk.Key)
	sum := secretChecksum(sk.ID, sk.Key)
	copy(raw[offKeynumSK+8+ed25519.PrivateKeySize:], sum[:])
	var buf bytes.Buffer
	writeComment(&buf, untrustedPrefix, truncate(sk.Comment, maxUntrustedComment))
	writeBase64(&buf, raw)
	return buf.Bytes()
}

// ReadSecretKey reads a secret key file written by `bundle keygen` or `minisign -G`. password
// is called only when the key is encrypted; it may be nil for unencrypted keys.
//
// A file that group or others may read or write is refused with *InsecureKeyFileError.
func ReadSecretKey(path string, password func() ([]byte, error)) (*SecretKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading secret key: %w", err)
	}
	defer f.Close()
	// Stat the open file, not the path, so the checked file is the one we read.
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading secret key: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("reading secret key: %s is not a regular file", path)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, &InsecureKeyFileError{Path: path, Mode: info.Mode()}
	}
	data, err := readLimited(f, path)
	if err != nil {
		return nil, fmt.Errorf("reading secret key: %w", err)
	}
	sk, err := ParseSecretKey(data, password)
	if err != nil {
		return nil, fmt.Errorf("reading secret key %s: %w", path, err)
	}
	return sk, nil
}

// ParseSecretKey parses a secret key file's text, decrypting it with the password when it is
// encrypted (password may be nil for unencrypted keys).
func ParseSecretKey(data []byte, password func() ([]byte, error)) (*SecretKey, error) {
	lines, err := splitLines(data, "secret key")
	if err != nil {
		return nil, err
	}
	if len(lines) != 2 {
		return nil, malformedf("secret key: expected an untrusted comment line and a base64 line, got %d lines", len(lines))
	}
	comment, err := untrustedComment(lines[0], "secret key")
	if err != nil {
		return nil, err
	}
	raw, err := decodeFixed(lines[1], secretKeyLen, "secret key")
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	if err := checkSecretAlgorithms(raw); err != nil {
		return nil, err
	}
	encrypted := string(raw[offKDF:offChk]) == kdfScrypt
	if encrypted {
		if err := decryptSecret(raw, password); err != nil {
			return nil, err
		}
	}
	return secretFromRaw(raw, comment, encrypted)
}

func checkSecretAlgorithms(raw []byte) error {
	if string(raw[:2]) != algLegacy {
		return fmt.Errorf("secret key: %w %q (minisign keys are %q)", ErrUnsupportedAlgorithm, raw[:2], algLegacy)
	}
	if kdf := string(raw[offKDF:offChk]); kdf != kdfScrypt && kdf != kdfNone {
		return fmt.Errorf("secret key: %w: key derivation %q", ErrUnsupportedAlgorithm, kdf)
	}
	if string(raw[offChk:offSalt]) != chkBLAKE2b {
		return fmt.Errorf("secret key: %w: checksum %q", ErrUnsupportedAlgorithm, raw[offChk:offSalt])
	}
	return nil
}

// secretFromRaw checks the decrypted key: the checksum (which minisign leaves zero in
// unencrypted keys), and that the stored public half belongs to the seed, so a damaged key can
// never sign with a public key nobody holds.
func secretFromRaw(raw []byte, comment string, encrypted bool) (*SecretKey, error) {
	sk := &SecretKey{Comment: comment}
	copy(sk.ID[:], raw[offKeynumSK:])
	key := raw[offKeynumSK+8 : offKeynumSK+8+ed25519.PrivateKeySize]
	stored := raw[offKeynumSK+8+ed25519.PrivateKeySize:]
	sum := secretChecksum(sk.ID, key)
	if encrypted || !allZero(stored) {
		if subtle.ConstantTimeCompare(sum[:], stored) != 1 {
			if encrypted {
				return nil, ErrWrongPassword
			}
			return nil, malformedf("secret key: checksum mismatch: the key file is damaged")
		}
	}
	sk.Key = ed25519.NewKeyFromSeed(key[:ed25519.SeedSize])
	if !bytes.Equal(sk.Key[32:], key[32:]) {
		return nil, malformedf("secret key: its public half does not match its seed: the key file is damaged")
	}
	return sk, nil
}

// secretChecksum is minisign's BLAKE2b-256 over sig_alg | key ID | secret key.
func secretChecksum(id KeyID, key []byte) [checksumLen]byte {
	h, _ := blake2b.New256(nil) // only fails for an over-long MAC key
	h.Write([]byte(algLegacy))
	h.Write(id[:])
	h.Write(key)
	var sum [checksumLen]byte
	h.Sum(sum[:0])
	return sum
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }
