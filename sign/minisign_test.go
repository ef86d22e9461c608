package sign

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// These tests check our formats against the real minisign (Debian's package; `make tools`
// installs it). A missing minisign fails them: compatibility is a promise, not an option.

func minisign(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("minisign")
	if err != nil {
		t.Fatalf("minisign is not installed (apt-get install minisign, or make tools): %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// writeFile writes content to dir/name with mode and returns its path.
func writeFile(t *testing.T, dir, name string, content []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, content, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func changeOneByte(t *testing.T, path string, at int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[at] ^= 0x01
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func testContent() []byte { return bytes.Repeat([]byte("harbor bundle payload\n"), 5000) }

// Keys from `minisign -G -W` sign in bundle, and minisign verifies our .minisig with its own
// public key; a one-byte change fails both tools.
func TestMinisignKeySignsInBundleAndMinisignVerifies(t *testing.T) {
	dir := t.TempDir()
	pubPath, secPath := filepath.Join(dir, "m.pub"), filepath.Join(dir, "m.key")
	if out, err := minisign(t, "", "-G", "-W", "-p", pubPath, "-s", secPath); err != nil {
		t.Fatalf("minisign -G: %v\n%s", err, out)
	}
	sec, err := ReadSecretKey(secPath, nil)
	if err != nil {
		t.Fatalf("reading minisign's secret key: %v", err)
	}
	pub, err := ReadPublicKey(pubPath)
	if err != nil {
		t.Fatalf("reading minisign's public key: %v", err)
	}
	if !sec.Public().Equal(pub) {
		t.Fatal("the public half of minisign's secret key differs from its public key file")
	}
	if !strings.HasSuffix(pub.Comment, pub.ID.String()) {
		t.Fatalf("minisign names the key %q, we print ID %s", pub.Comment, pub.ID)
	}
	file := writeFile(t, dir, "harbor-upgrade-1.10.run", testContent(), 0o644)
	signWithUs(t, sec, file)
	if out, err := minisign(t, "", "-Vm", file, "-p", pubPath); err != nil {
		t.Fatalf("minisign -V rejects our signature: %v\n%s", err, out)
	} else if !strings.Contains(out, "file:harbor-upgrade-1.10.run") {
		t.Fatalf("minisign does not show our trusted comment:\n%s", out)
	}
	verifyWithUs(t, pub, file)

	changeOneByte(t, file, 4321)
	if out, err := minisign(t, "", "-Vm", file, "-p", pubPath); err == nil {
		t.Fatalf("minisign accepts a changed file:\n%s", out)
	}
	if err := verifyFileWithUs(pub, file); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("bundle on a changed file: got %v, want ErrInvalidSignature", err)
	}
}

// Keys from `bundle keygen` (WriteKeyPair) work in minisign, both ways.
func TestBundleKeyWorksInMinisign(t *testing.T) {
	dir, pub, _ := writeKeyPair(t)
	pubPath, secPath := filepath.Join(dir, "bundle.pub"), filepath.Join(dir, "bundle.key")
	file := writeFile(t, dir, "a.run", testContent(), 0o644)
	if out, err := minisign(t, "", "-S", "-s", secPath, "-m", file); err != nil {
		t.Fatalf("minisign -S with our secret key: %v\n%s", err, out)
	}
	verifyWithUs(t, pub, file)
	if out, err := minisign(t, "", "-Vm", file, "-p", pubPath); err != nil {
		t.Fatalf("minisign -V with our public key: %v\n%s", err, out)
	}
	// minisign prints a public key as one base64 line for -P; ours is the same line.
	if out, err := minisign(t, "", "-Vm", file, "-P", pub.String()); err != nil {
		t.Fatalf("minisign -V -P: %v\n%s", err, out)
	}
	// minisign -R recreates the public key from our secret key: the same file.
	rePub := filepath.Join(dir, "re.pub")
	if out, err := minisign(t, "", "-R", "-s", secPath, "-p", rePub); err != nil {
		t.Fatalf("minisign -R: %v\n%s", err, out)
	}
	if a, b := mustRead(t, rePub), mustRead(t, pubPath); !bytes.Equal(a, b) {
		t.Fatalf("minisign -R writes\n%s\nwe write\n%s", a, b)
	}
}

// Signatures made by minisign, prehashed (its default) and legacy (-l), verify in bundle; a
// changed file and a changed trusted comment fail; another key is named.
func TestMinisignSignaturesVerifyInBundle(t *testing.T) {
	dir := t.TempDir()
	pubPath, secPath := filepath.Join(dir, "m.pub"), filepath.Join(dir, "m.key")
	if out, err := minisign(t, "", "-G", "-W", "-p", pubPath, "-s", secPath); err != nil {
		t.Fatalf("minisign -G: %v\n%s", err, out)
	}
	pub, err := ReadPublicKey(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	ourPub, _ := newTestKey(t)
	for _, legacy := range []bool{false, true} {
		file := writeFile(t, dir, "f.run", testContent(), 0o644)
		args := []string{"-S", "-s", secPath, "-m", file, "-t", "built by minisign"}
		if legacy {
			args = append(args, "-l")
		}
		if out, err := minisign(t, "", args...); err != nil {
			t.Fatalf("minisign -S: %v\n%s", err, out)
		}
		sig, err := ReadSignature(file + ".minisig")
		if err != nil {
			t.Fatal(err)
		}
		if sig.Prehashed == legacy || sig.TrustedComment != "built by minisign" {
			t.Fatalf("legacy=%v: parsed %+v", legacy, sig)
		}
		if !bytes.Equal(sig.Marshal(), mustRead(t, file+".minisig")) {
			t.Fatalf("legacy=%v: Marshal differs from minisign's file", legacy)
		}
		verifyWithUs(t, pub, file)
		var mismatch *KeyMismatchError
		if err := verifyFileWithUs(ourPub, file); !errors.As(err, &mismatch) || mismatch.Signed != pub.ID {
			t.Fatalf("legacy=%v, another key: got %v, want *KeyMismatchError naming %s", legacy, err, pub.ID)
		}
		changeOneByte(t, file, 0)
		if err := verifyFileWithUs(pub, file); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("legacy=%v, changed file: got %v", legacy, err)
		}
	}
}

// A password-protected key from `minisign -G` loads with its password and signs what minisign
// verifies. The fixture was made under a memory limit, so minisign used its lower scrypt limits
// (N=2^16); minisign_long_test.go covers the default 1 GiB ones. See testdata/README.md.
func TestMinisignEncryptedKey(t *testing.T) {
	checkMinisignEncryptedKey(t, "testdata/minisign-lowmem")
}

func checkMinisignEncryptedKey(t *testing.T, fixture string) {
	dir := t.TempDir()
	secPath := writeFile(t, dir, "enc.key", mustRead(t, fixture+".key"), 0o600)
	if _, err := ReadSecretKey(secPath, password("wrong horse")); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: got %v, want ErrWrongPassword", err)
	}
	start := time.Now()
	sec, err := ReadSecretKey(secPath, password("correct horse battery staple"))
	if err != nil {
		t.Fatalf("reading minisign's encrypted key: %v", err)
	}
	t.Logf("decryption took %s", time.Since(start).Round(time.Millisecond))
	pub, err := ReadPublicKey(fixture + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if !sec.Public().Equal(pub) {
		t.Fatal("decrypted key does not match minisign's public key")
	}
	file := writeFile(t, dir, "x.run", testContent(), 0o644)
	signWithUs(t, sec, file)
	if out, err := minisign(t, "", "-Vm", file, "-p", fixture+".pub"); err != nil {
		t.Fatalf("minisign -V: %v\n%s", err, out)
	}
}

func signWithUs(t *testing.T, sec *SecretKey, file string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sig, err := sec.Sign(f, DefaultTrustedComment(filepath.Base(file), time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Dir(file), filepath.Base(file)+".minisig", sig.Marshal(), 0o644)
}

func verifyWithUs(t *testing.T, pub *PublicKey, file string) {
	t.Helper()
	if err := verifyFileWithUs(pub, file); err != nil {
		t.Fatalf("bundle rejects the signature of %s: %v", file, err)
	}
}

func verifyFileWithUs(pub *PublicKey, file string) error {
	sig, err := ReadSignature(file + ".minisig")
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	return pub.Verify(f, sig)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
