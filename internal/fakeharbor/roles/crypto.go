package roles

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// ErrSecretKeyMismatch is a stored credential the secretkey cannot decrypt: the database was
// restored without the secretkey that encrypted it.
var ErrSecretKeyMismatch = errors.New("secretkey mismatch")

// credentialPlaintext is what core encrypts on its first start, to tell later whether the
// secretkey still matches the database.
const credentialPlaintext = "harbor-registry-credential"

// encrypt is Harbor's reversible encryption of stored passwords with the 16-byte secretkey
// (AES; here GCM, whose authentication makes a wrong key detectable, like a failed decode).
func encrypt(key []byte, plain string) (string, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return "<enc-v1>" + base64.StdEncoding.EncodeToString(gcm.Seal(nonce, nonce, []byte(plain), nil)), nil
}

func decrypt(key []byte, stored string) (string, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return "", err
	}
	const prefix = "<enc-v1>"
	if len(stored) < len(prefix) || stored[:len(prefix)] != prefix {
		return "", fmt.Errorf("decrypting credential: unknown format")
	}
	data, err := base64.StdEncoding.DecodeString(stored[len(prefix):])
	if err != nil || len(data) < gcm.NonceSize() {
		return "", fmt.Errorf("decrypting credential: corrupt value")
	}
	plain, err := gcm.Open(nil, data[:gcm.NonceSize()], data[gcm.NonceSize():], nil)
	if err != nil {
		return "", ErrSecretKeyMismatch
	}
	return string(plain), nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 16 {
		return nil, fmt.Errorf("the secretkey must be 16 characters, it has %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
