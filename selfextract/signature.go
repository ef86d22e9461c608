package selfextract

import (
	"errors"
	"fmt"
	"os"

	"github.com/harborbundle/bundle/sign"
)

// TrustedKeyPath is where an air-gapped host keeps the public key every bundle must be signed
// with. When it exists, unsigned or wrongly signed bundles are refused.
const TrustedKeyPath = "/etc/harbor-bundle/trusted.pub"

// SignatureError refuses a bundle whose signature is missing, damaged or made by another key
// while a key was required. It is a refusal before any change (exit status 2).
type SignatureError struct {
	Path   string
	Reason string
	Err    error
}

func (e *SignatureError) Error() string { return fmt.Sprintf("%s: signature: %s", e.Path, e.Reason) }
func (e *SignatureError) Unwrap() error { return e.Err }
func (e *SignatureError) ExitCode() int { return 2 }

// ErrUnsigned is wrapped by a SignatureError for a bundle that carries no signature.
var ErrUnsigned = errors.New("bundle is unsigned")

// TrustedKey returns the key bundles must be signed with: the file given by the user, else the
// host's TrustedKeyPath when it exists, else nil (no key: unsigned bundles run with a warning).
// source says where the key came from, for messages.
func TrustedKey(path string) (key *sign.PublicKey, source string, err error) {
	if path == "" {
		if _, err := os.Stat(TrustedKeyPath); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, "", nil
			}
			return nil, "", fmt.Errorf("reading trusted key %s: %w", TrustedKeyPath, err)
		}
		path = TrustedKeyPath
	}
	key, err = sign.ReadPublicKey(path)
	if err != nil {
		return nil, "", fmt.Errorf("reading public key %s: %w", path, err)
	}
	return key, path, nil
}

// EmbeddedSignature parses the signature carried in the trailer; nil when the bundle is unsigned.
func (b *Bundle) EmbeddedSignature() (*sign.Signature, error) {
	if len(b.Trailer.Signature) == 0 {
		return nil, nil
	}
	sig, err := sign.ParseSignature(b.Trailer.Signature)
	if err != nil {
		return nil, &SignatureError{b.Path, "the embedded signature is damaged", err}
	}
	return sig, nil
}

// CheckSignature checks the embedded signature over the manifest's sha256 against key. The
// manifest lists the sha256 of every entry, so once the payload has been verified against the
// manifest, this one check covers every byte of it: signature and integrity in the same pass.
func (b *Bundle) CheckSignature(key *sign.PublicKey) error {
	sig, err := b.EmbeddedSignature()
	if err != nil {
		return err
	}
	if sig == nil {
		return &SignatureError{b.Path, "the bundle is unsigned but a trusted key is configured; build it with --sign-key", ErrUnsigned}
	}
	if err := key.VerifyBytes(b.Trailer.ManifestSHA256[:], sig); err != nil {
		var km *sign.KeyMismatchError
		if errors.As(err, &km) {
			return &SignatureError{b.Path, err.Error(), err}
		}
		return &SignatureError{b.Path, "invalid: the bundle was changed after it was signed, or the signature is forged", err}
	}
	return nil
}
