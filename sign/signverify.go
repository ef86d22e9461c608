package sign

import (
	"crypto/ed25519"
	"crypto/subtle"
	"fmt"
	"hash"
	"io"

	"golang.org/x/crypto/blake2b"
)

// PrehashSize is the length of the BLAKE2b-512 hash that prehashed signatures sign.
const PrehashSize = blake2b.Size

// maxLegacyMessage bounds the content a legacy signature is checked over: ed25519 over the raw
// message needs the whole message in memory.
const maxLegacyMessage = 64 << 20

// NewPrehash returns the hash prehashed signatures sign (unkeyed BLAKE2b-512), so a caller can
// feed it in the same pass as its own checksum (io.MultiWriter) and then call SignPrehashed or
// VerifyPrehashed with its Sum.
func NewPrehash() hash.Hash {
	h, _ := blake2b.New512(nil) // only fails for an over-long MAC key
	return h
}

// Sign reads r to its end and returns a prehashed signature over it, in bounded memory.
// trustedComment is signed with it (see DefaultTrustedComment); it must be one line of at
// most MaxTrustedComment bytes.
func (sk *SecretKey) Sign(r io.Reader, trustedComment string) (*Signature, error) {
	h := NewPrehash()
	if _, err := io.Copy(h, r); err != nil {
		return nil, fmt.Errorf("reading the content to sign: %w", err)
	}
	return sk.SignPrehashed(h.Sum(nil), trustedComment)
}

// SignBytes returns a prehashed signature over msg.
func (sk *SecretKey) SignBytes(msg []byte, trustedComment string) (*Signature, error) {
	sum := blake2b.Sum512(msg)
	return sk.SignPrehashed(sum[:], trustedComment)
}

// SignPrehashed returns a prehashed signature given the BLAKE2b-512 of the content (from
// NewPrehash).
func (sk *SecretKey) SignPrehashed(sum []byte, trustedComment string) (*Signature, error) {
	if len(sum) != PrehashSize {
		return nil, fmt.Errorf("signing: got a %d-byte hash, want the %d-byte BLAKE2b-512 from NewPrehash", len(sum), PrehashSize)
	}
	if len(trustedComment) > MaxTrustedComment {
		return nil, fmt.Errorf("signing: trusted comment is %d bytes, at most %d fit", len(trustedComment), MaxTrustedComment)
	}
	if err := checkCommentChars(trustedComment); err != nil {
		return nil, fmt.Errorf("signing: trusted comment %w", err)
	}
	if len(sk.Key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("signing: the secret key is not an ed25519 key")
	}
	s := &Signature{
		Prehashed:        true,
		KeyID:            sk.ID,
		UntrustedComment: "signature from bundle secret key " + sk.ID.String(),
		TrustedComment:   trustedComment,
	}
	copy(s.Sig[:], ed25519.Sign(sk.Key, sum))
	copy(s.GlobalSig[:], ed25519.Sign(sk.Key, s.globalMessage()))
	return s, nil
}

// Verify reads r to its end and checks sig over it. It returns *KeyMismatchError when sig was
// made by another key, and an error wrapping ErrInvalidSignature when the content or the
// trusted comment was changed after signing. Prehashed signatures stream in bounded memory;
// legacy ones are checked over at most 64 MiB of content.
func (pk *PublicKey) Verify(r io.Reader, sig *Signature) error {
	if err := pk.checkKeyID(sig); err != nil {
		return err
	}
	if !sig.Prehashed {
		msg, err := io.ReadAll(io.LimitReader(r, maxLegacyMessage+1))
		if err != nil {
			return fmt.Errorf("reading the signed content: %w", err)
		}
		if len(msg) > maxLegacyMessage {
			return fmt.Errorf("%w over more than %d MiB cannot be checked in bounded memory; sign with a current minisign (without -l) or bundle", ErrLegacySignature, maxLegacyMessage>>20)
		}
		return pk.verifyMessage(msg, sig)
	}
	h := NewPrehash()
	if _, err := io.Copy(h, r); err != nil {
		return fmt.Errorf("reading the signed content: %w", err)
	}
	return pk.VerifyPrehashed(h.Sum(nil), sig)
}

// VerifyBytes checks sig over msg; errors as for Verify.
func (pk *PublicKey) VerifyBytes(msg []byte, sig *Signature) error {
	if err := pk.checkKeyID(sig); err != nil {
		return err
	}
	if !sig.Prehashed {
		return pk.verifyMessage(msg, sig)
	}
	sum := blake2b.Sum512(msg)
	return pk.VerifyPrehashed(sum[:], sig)
}

// VerifyPrehashed checks a prehashed sig given the BLAKE2b-512 of the content (from
// NewPrehash); errors as for Verify, and ErrLegacySignature for a legacy signature, which
// cannot be checked over a hash.
func (pk *PublicKey) VerifyPrehashed(sum []byte, sig *Signature) error {
	if err := pk.checkKeyID(sig); err != nil {
		return err
	}
	if !sig.Prehashed {
		return fmt.Errorf("%w cannot be checked over a hash; sign with a current minisign (without -l) or bundle", ErrLegacySignature)
	}
	if len(sum) != PrehashSize {
		return fmt.Errorf("verifying: got a %d-byte hash, want the %d-byte BLAKE2b-512 from NewPrehash", len(sum), PrehashSize)
	}
	return pk.verifyMessage(sum, sig)
}

// verifyMessage checks both signatures: over the content (or its hash), then over the trusted
// comment, as minisign does.
func (pk *PublicKey) verifyMessage(msg []byte, sig *Signature) error {
	if len(pk.Key) != ed25519.PublicKeySize {
		return fmt.Errorf("verifying: the public key is not an ed25519 key")
	}
	if !ed25519.Verify(pk.Key, msg, sig.Sig[:]) {
		return fmt.Errorf("%w: the content does not match the signature of key ID %s (changed or damaged after signing)", ErrInvalidSignature, sig.KeyID)
	}
	if !ed25519.Verify(pk.Key, sig.globalMessage(), sig.GlobalSig[:]) {
		return fmt.Errorf("%w: the trusted comment was changed after signing", ErrInvalidSignature)
	}
	return nil
}

func (pk *PublicKey) checkKeyID(sig *Signature) error {
	if sig == nil {
		return fmt.Errorf("%w: no signature", ErrInvalidSignature)
	}
	if subtle.ConstantTimeCompare(sig.KeyID[:], pk.ID[:]) != 1 {
		return &KeyMismatchError{Signed: sig.KeyID, Expected: pk.ID}
	}
	return nil
}

// globalMessage is what the global signature covers: the signature, then the trusted comment.
func (s *Signature) globalMessage() []byte {
	m := make([]byte, 0, len(s.Sig)+len(s.TrustedComment))
	m = append(m, s.Sig[:]...)
	return append(m, s.TrustedComment...)
}
