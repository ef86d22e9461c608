package sign

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/scrypt"
)

func writeKeyPair(t *testing.T) (dir string, pub *PublicKey, sec *SecretKey) {
	t.Helper()
	pub, sec = newTestKey(t)
	dir = t.TempDir()
	if err := WriteKeyPair(pub, sec, filepath.Join(dir, "bundle.pub"), filepath.Join(dir, "bundle.key"), false); err != nil {
		t.Fatal(err)
	}
	return dir, pub, sec
}

func TestWriteKeyPairModesAndReadBack(t *testing.T) {
	dir, pub, sec := writeKeyPair(t)
	for name, want := range map[string]os.FileMode{"bundle.pub": 0o644, "bundle.key": 0o600} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s has mode %04o, want %04o", name, info.Mode().Perm(), want)
		}
	}
	gotPub, err := ReadPublicKey(filepath.Join(dir, "bundle.pub"))
	if err != nil {
		t.Fatal(err)
	}
	gotSec, err := ReadSecretKey(filepath.Join(dir, "bundle.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !gotPub.Equal(pub) || !gotSec.Key.Equal(sec.Key) || gotSec.ID != sec.ID {
		t.Fatal("keys changed through their files")
	}
	if gotPub.Comment != "minisign public key "+pub.ID.String() {
		t.Fatalf("public key comment %q", gotPub.Comment)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestWriteKeyPairRefusesToOverwrite(t *testing.T) {
	dir, _, _ := writeKeyPair(t)
	before, _ := os.ReadFile(filepath.Join(dir, "bundle.key"))
	pub2, sec2 := newTestKey(t)
	err := WriteKeyPair(pub2, sec2, filepath.Join(dir, "new.pub"), filepath.Join(dir, "bundle.key"), false)
	if !errors.Is(err, ErrKeyExists) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("got %v, want ErrKeyExists saying how to force", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new.pub")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the public key was written although the secret key was refused")
	}
	after, _ := os.ReadFile(filepath.Join(dir, "bundle.key"))
	if !bytes.Equal(before, after) {
		t.Fatal("the existing secret key changed")
	}
	if err := WriteKeyPair(pub2, sec2, filepath.Join(dir, "bundle.pub"), filepath.Join(dir, "bundle.key"), true); err != nil {
		t.Fatalf("forced: %v", err)
	}
	got, err := ReadSecretKey(filepath.Join(dir, "bundle.key"), nil)
	if err != nil || got.ID != sec2.ID {
		t.Fatalf("forced overwrite: %v", err)
	}
}

func TestWriteKeyPairRefusesMismatchedHalves(t *testing.T) {
	pub, _ := newTestKey(t)
	_, sec := newTestKey(t)
	dir := t.TempDir()
	if err := WriteKeyPair(pub, sec, filepath.Join(dir, "p"), filepath.Join(dir, "s"), false); err == nil {
		t.Fatal("wrote a public key that does not belong to the secret key")
	}
}

func TestSecretKeyReadableByOthersIsRefused(t *testing.T) {
	dir, _, _ := writeKeyPair(t)
	path := filepath.Join(dir, "bundle.key")
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620, 0o602} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := ReadSecretKey(path, nil)
		var insecure *InsecureKeyFileError
		if !errors.As(err, &insecure) {
			t.Fatalf("mode %04o: got %v, want *InsecureKeyFileError", mode, err)
		}
		if mode == 0o644 {
			want := "permissions 0644 for " + path + " are too open; chmod 600 " + path
			if err.Error() != want {
				t.Fatalf("got %q, want %q", err, want)
			}
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSecretKey(path, nil); err != nil {
		t.Fatalf("mode 0400: %v", err)
	}
}

// encryptForTest encrypts a secret key the way minisign -G does, but with cheap scrypt limits
// so the test runs in milliseconds; the real 1 GiB limits are covered with a minisign fixture.
func encryptForTest(t *testing.T, sk *SecretKey, password string, opslimit, memlimit uint64) []byte {
	t.Helper()
	lines := strings.Split(string(sk.Marshal()), "\n")
	raw, _ := base64.StdEncoding.DecodeString(lines[1])
	copy(raw[offKDF:], kdfScrypt)
	copy(raw[offSalt:], bytes.Repeat([]byte{7}, saltLen))
	binary.LittleEndian.PutUint64(raw[offOpsLimit:], opslimit)
	binary.LittleEndian.PutUint64(raw[offMemLimit:], memlimit)
	logN, r, p := scryptParams(opslimit, memlimit)
	stream, err := scrypt.Key([]byte(password), raw[offSalt:offSalt+saltLen], 1<<logN, r, p, keynumSKLen)
	if err != nil {
		t.Fatal(err)
	}
	for i := range stream {
		raw[offKeynumSK+i] ^= stream[i]
	}
	return []byte(lines[0] + "\n" + base64.StdEncoding.EncodeToString(raw) + "\n")
}

func password(s string) func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(s), nil }
}

func TestEncryptedSecretKeyPasswords(t *testing.T) {
	_, sec := newTestKey(t)
	data := encryptForTest(t, sec, "s3cret", 1<<16, 1<<20)
	got, err := ParseSecretKey(data, password("s3cret"))
	if err != nil || !got.Key.Equal(sec.Key) || got.ID != sec.ID {
		t.Fatalf("right password: %v", err)
	}
	if _, err := ParseSecretKey(data, password("wrong")); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: got %v, want ErrWrongPassword", err)
	}
	if _, err := ParseSecretKey(data, nil); !errors.Is(err, ErrPasswordRequired) {
		t.Fatalf("no password: got %v, want ErrPasswordRequired", err)
	}
}

// A damaged or hostile key file must not make us allocate many gigabytes before asking for
// the password.
func TestEncryptedSecretKeyWithAbsurdScryptLimitsIsRefused(t *testing.T) {
	_, sec := newTestKey(t)
	data := encryptForTest(t, sec, "x", 1<<16, 1<<20)
	lines := strings.Split(string(data), "\n")
	raw, _ := base64.StdEncoding.DecodeString(lines[1])
	binary.LittleEndian.PutUint64(raw[offOpsLimit:], 1<<40)
	binary.LittleEndian.PutUint64(raw[offMemLimit:], 1<<40)
	hostile := lines[0] + "\n" + base64.StdEncoding.EncodeToString(raw) + "\n"
	asked := false
	_, err := ParseSecretKey([]byte(hostile), func() ([]byte, error) { asked = true; return []byte("x"), nil })
	if !errors.Is(err, ErrMalformed) || asked {
		t.Fatalf("got %v (password asked: %v), want ErrMalformed before asking", err, asked)
	}
}

func TestScryptParamsMatchLibsodium(t *testing.T) {
	// minisign's OPSLIMIT_SENSITIVE and MEMLIMIT_SENSITIVE give N=2^20, r=8, p=1 in libsodium.
	if logN, r, p := scryptParams(33554432, 1073741824); logN != 20 || r != 8 || p != 1 {
		t.Fatalf("sensitive limits: N=2^%d r=%d p=%d", logN, r, p)
	}
	// The halved limits minisign falls back to on a small machine (testdata/minisign-lowmem.key
	// has the 16-times halved ones).
	if logN, r, p := scryptParams(33554432/2, 1073741824/2); logN != 19 || r != 8 || p != 1 {
		t.Fatalf("halved limits: N=2^%d r=%d p=%d", logN, r, p)
	}
	if logN, r, p := scryptParams(2097152, 67108864); logN != 16 || r != 8 || p != 1 {
		t.Fatalf("low-memory limits: N=2^%d r=%d p=%d", logN, r, p)
	}
}

func TestDamagedUnencryptedSecretKeyIsRefused(t *testing.T) {
	_, sec := newTestKey(t)
	lines := strings.Split(string(sec.Marshal()), "\n")
	raw, _ := base64.StdEncoding.DecodeString(lines[1])
	raw[offKeynumSK+8+40] ^= 1 // a bit of the stored public half
	damaged := lines[0] + "\n" + base64.StdEncoding.EncodeToString(raw) + "\n"
	if _, err := ParseSecretKey([]byte(damaged), nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", err)
	}
}

func TestParseErrors(t *testing.T) {
	_, sec := newTestKey(t)
	goodSig, _ := sec.SignBytes([]byte("x"), "c")
	sigLines := strings.Split(string(goodSig.Marshal()), "\n")
	pubLines := strings.Split(string(sec.Public().Marshal()), "\n")
	join := func(l ...string) []byte { return []byte(strings.Join(l, "\n") + "\n") }
	for name, data := range map[string][]byte{
		"empty":                  nil,
		"three lines":            join(sigLines[0], sigLines[1], sigLines[2]),
		"no untrusted prefix":    join("comment: x", sigLines[1], sigLines[2], sigLines[3]),
		"no trusted prefix":      join(sigLines[0], sigLines[1], "comment: c", sigLines[3]),
		"short signature":        join(sigLines[0], sigLines[1][:40], sigLines[2], sigLines[3]),
		"not base64":             join(sigLines[0], strings.Repeat("!", len(sigLines[1])), sigLines[2], sigLines[3]),
		"extra line":             join(sigLines[0], sigLines[1], sigLines[2], sigLines[3], "x"),
		"CR inside trusted":      join(sigLines[0], sigLines[1], "trusted comment: a\rb", sigLines[3]),
		"huge untrusted comment": join(untrustedPrefix+strings.Repeat("x", 2000), sigLines[1], sigLines[2], sigLines[3]),
		"unknown algorithm":      join(sigLines[0], reAlg(sigLines[1], "Xx"), sigLines[2], sigLines[3]),
	} {
		if _, err := ParseSignature(data); err == nil {
			t.Errorf("signature %s: parsed", name)
		}
	}
	for name, data := range map[string][]byte{
		"empty":             nil,
		"three lines":       join(pubLines[0], pubLines[1], pubLines[1]),
		"prehashed alg":     join(pubLines[0], reAlg(pubLines[1], "ED")),
		"no comment prefix": join("minisign public key", pubLines[1]),
	} {
		if _, err := ParsePublicKey(data); err == nil {
			t.Errorf("public key %s: parsed", name)
		}
	}
	if _, err := ParsePublicKey([]byte(pubLines[1])); err != nil {
		t.Errorf("bare base64 public key (minisign -P form): %v", err)
	}
	if _, err := ParseSignature([]byte(strings.ReplaceAll(string(goodSig.Marshal()), "\n", "\r\n"))); err != nil {
		t.Errorf("CRLF signature file: %v", err)
	}
}

func reAlg(b64, alg string) string {
	raw, _ := base64.StdEncoding.DecodeString(b64)
	copy(raw, alg)
	return base64.StdEncoding.EncodeToString(raw)
}
