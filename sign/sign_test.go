package sign

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

func newTestKey(t *testing.T) (*PublicKey, *SecretKey) {
	t.Helper()
	pub, sec, err := GenerateKey("")
	if err != nil {
		t.Fatal(err)
	}
	return pub, sec
}

func TestSignVerifyRoundTripThroughFileText(t *testing.T) {
	pub, sec := newTestKey(t)
	content := []byte("harbor-upgrade-1.10.run content")
	sig, err := sec.Sign(bytes.NewReader(content), DefaultTrustedComment("harbor-upgrade-1.10.run", time.Unix(1700000000, 0)))
	if err != nil {
		t.Fatal(err)
	}
	parsedPub, err := ParsePublicKey(pub.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	parsedSig, err := ParseSignature(sig.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if *parsedSig != *sig {
		t.Fatalf("signature changed through Marshal/Parse:\n%+v\n%+v", parsedSig, sig)
	}
	if err := parsedPub.Verify(bytes.NewReader(content), parsedSig); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := parsedPub.VerifyBytes(content, parsedSig); err != nil {
		t.Fatalf("VerifyBytes: %v", err)
	}
	if got, want := parsedSig.TrustedComment, "timestamp:1700000000\tfile:harbor-upgrade-1.10.run\thashed"; got != want {
		t.Fatalf("trusted comment %q, want %q", got, want)
	}
}

// The point of NewPrehash: one pass over the content gives both the sha256 and the signature.
func TestPrehashInTheSamePassAsSHA256(t *testing.T) {
	pub, sec := newTestKey(t)
	content := bytes.Repeat([]byte("layer"), 100000)
	sha, pre := sha256.New(), NewPrehash()
	if _, err := io.Copy(io.MultiWriter(sha, pre), bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	sig, err := sec.SignPrehashed(pre.Sum(nil), fmt.Sprintf("sha256:%x", sha.Sum(nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Verify(bytes.NewReader(content), sig); err != nil {
		t.Fatalf("streaming Verify of a SignPrehashed signature: %v", err)
	}
	other, err := sec.SignBytes(content, fmt.Sprintf("sha256:%x", sha256.Sum256(content)))
	if err != nil {
		t.Fatal(err)
	}
	if *other != *sig {
		t.Fatal("SignBytes and SignPrehashed(NewPrehash) differ over the same content")
	}
	if err := pub.VerifyPrehashed(pre.Sum(nil), other); err != nil {
		t.Fatalf("VerifyPrehashed: %v", err)
	}
}

func TestOneByteChangeAnywhereFails(t *testing.T) {
	pub, sec := newTestKey(t)
	content := bytes.Repeat([]byte{0x5a}, 4096)
	sig, err := sec.SignBytes(content, "c")
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []int{0, 1, 2047, 4095} {
		changed := bytes.Clone(content)
		changed[at] ^= 1
		err := pub.Verify(bytes.NewReader(changed), sig)
		if !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("byte %d changed: got %v, want ErrInvalidSignature", at, err)
		}
	}
	if err := pub.Verify(bytes.NewReader(content[:4095]), sig); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("truncated content: got %v, want ErrInvalidSignature", err)
	}
}

func TestChangedTrustedCommentFails(t *testing.T) {
	pub, sec := newTestKey(t)
	sig, err := sec.SignBytes([]byte("x"), "timestamp:1\tfile:a.run")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(sig.Marshal()), "file:a.run", "file:b.run", 1)
	forged, err := ParseSignature([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	err = pub.VerifyBytes([]byte("x"), forged)
	if !errors.Is(err, ErrInvalidSignature) || !strings.Contains(err.Error(), "trusted comment") {
		t.Fatalf("got %v, want ErrInvalidSignature about the trusted comment", err)
	}
	// The untrusted comment is not signed: changing it changes nothing.
	text = strings.Replace(string(sig.Marshal()), "signature from", "anything from", 1)
	relabelled, err := ParseSignature([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.VerifyBytes([]byte("x"), relabelled); err != nil {
		t.Fatalf("untrusted comment changed: %v", err)
	}
}

func TestWrongKeyNamesBothKeyIDs(t *testing.T) {
	_, sec := newTestKey(t)
	otherPub, _ := newTestKey(t)
	sig, err := sec.SignBytes([]byte("x"), "")
	if err != nil {
		t.Fatal(err)
	}
	err = otherPub.VerifyBytes([]byte("x"), sig)
	var mismatch *KeyMismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("got %v, want *KeyMismatchError", err)
	}
	if mismatch.Signed != sec.ID || mismatch.Expected != otherPub.ID {
		t.Fatalf("mismatch names %s/%s, want %s/%s", mismatch.Signed, mismatch.Expected, sec.ID, otherPub.ID)
	}
	want := "signed by key ID " + sec.ID.String() + ", expected " + otherPub.ID.String()
	if !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("message %q does not start with %q", err, want)
	}
	if errors.Is(err, ErrInvalidSignature) {
		t.Fatal("a key mismatch must be told apart from a damaged file")
	}
}

// A key with the right ID but other key material (a forged or regenerated key) still fails.
func TestSameKeyIDOtherKeyFails(t *testing.T) {
	_, sec := newTestKey(t)
	impostor, _ := newTestKey(t)
	impostor.ID = sec.ID
	sig, err := sec.SignBytes([]byte("x"), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := impostor.VerifyBytes([]byte("x"), sig); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("got %v, want ErrInvalidSignature", err)
	}
}

func TestKeyIDPrintsLikeMinisign(t *testing.T) {
	// minisign prints the 8 bytes as a little-endian uint64 in upper-case hex.
	id := KeyID{0xc2, 0x7f, 0x54, 0x42, 0x33, 0xec, 0x04, 0x35}
	if got := id.String(); got != "3504EC3342547FC2" {
		t.Fatalf("got %s", got)
	}
}

func TestSignRefusesBadTrustedComments(t *testing.T) {
	_, sec := newTestKey(t)
	for name, c := range map[string]string{
		"newline":  "a\nb",
		"CR":       "a\rb",
		"NUL":      "a\x00b",
		"too long": strings.Repeat("x", MaxTrustedComment+1),
	} {
		if _, err := sec.SignBytes([]byte("x"), c); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
}

func TestMarshalFitsTheTrailerSlot(t *testing.T) {
	_, sec := newTestKey(t)
	sig, err := sec.SignBytes([]byte("x"), strings.Repeat("é", MaxTrustedComment/2))
	if err != nil {
		t.Fatal(err)
	}
	n := len(sig.Marshal())
	if n > MaxMarshalledSize || MaxMarshalledSize > 2048 {
		t.Fatalf("Marshal is %d bytes, bound %d, slot 2048", n, MaxMarshalledSize)
	}
	t.Logf("largest signature we make: %d bytes (bound %d)", n, MaxMarshalledSize)
}

func TestLegacySignatureOverAHashIsRefused(t *testing.T) {
	pub, sec := newTestKey(t)
	sig, err := sec.SignBytes([]byte("x"), "")
	if err != nil {
		t.Fatal(err)
	}
	sig.Prehashed = false
	if err := pub.VerifyPrehashed(make([]byte, PrehashSize), sig); !errors.Is(err, ErrLegacySignature) {
		t.Fatalf("got %v, want ErrLegacySignature", err)
	}
	big := io.LimitReader(zeros{}, maxLegacyMessage+1)
	if err := pub.Verify(big, sig); !errors.Is(err, ErrLegacySignature) {
		t.Fatalf("legacy over %d bytes: got %v, want ErrLegacySignature", maxLegacyMessage+1, err)
	}
}

// Signing and verifying stream: memory does not grow with the content.
func TestSignAndVerifyStreamInBoundedMemory(t *testing.T) {
	pub, sec := newTestKey(t)
	const size = 64 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sig, err := sec.Sign(io.LimitReader(zeros{}, size), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Verify(io.LimitReader(zeros{}, size), sig); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Fatalf("signing and verifying %d MiB allocated %d bytes", size>>20, alloc)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
