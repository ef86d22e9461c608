package sign

import (
	"errors"
	"fmt"
	"io/fs"
)

var (
	// ErrInvalidSignature means a signature does not match the content or its trusted comment:
	// the content was changed after it was signed (or the signature was forged).
	ErrInvalidSignature = errors.New("signature verification failed")

	// ErrMalformed wraps every parsing failure of a key or signature file.
	ErrMalformed = errors.New("malformed")

	// ErrUnsupportedAlgorithm means a key or signature uses an algorithm minisign does not define.
	ErrUnsupportedAlgorithm = errors.New("unsupported algorithm")

	// ErrLegacySignature means a legacy ("Ed", not prehashed) signature was given where only a
	// prehashed one can be checked: over a hash, or over content too large to hold in memory.
	ErrLegacySignature = errors.New("legacy (not prehashed) minisign signature")

	// ErrPasswordRequired means the secret key is encrypted and no way to ask for its password
	// was given.
	ErrPasswordRequired = errors.New("secret key is encrypted with a password")

	// ErrWrongPassword means the password did not decrypt the secret key.
	ErrWrongPassword = errors.New("wrong password for that secret key")
)

// KeyMismatchError says a signature was made by another key than the one it is checked
// against. Callers tell it apart from a damaged file with errors.As.
type KeyMismatchError struct {
	// Signed is the key ID recorded in the signature.
	Signed KeyID
	// Expected is the key ID of the public key the signature was checked against.
	Expected KeyID
}

func (e *KeyMismatchError) Error() string {
	return fmt.Sprintf("signed by key ID %s, expected %s: the signature was made with another key than the trusted one", e.Signed, e.Expected)
}

// InsecureKeyFileError refuses a secret key file that users other than its owner can read or
// write, as ssh does: such a key may already be known to others, and signing with it would
// prove nothing.
type InsecureKeyFileError struct {
	Path string
	Mode fs.FileMode
}

func (e *InsecureKeyFileError) Error() string {
	return fmt.Sprintf("permissions %04o for %s are too open; chmod 600 %s", e.Mode.Perm(), e.Path, e.Path)
}

// malformedf returns an error wrapping ErrMalformed.
func malformedf(format string, args ...any) error {
	return fmt.Errorf("%w %s", ErrMalformed, fmt.Sprintf(format, args...))
}
