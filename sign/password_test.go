package sign

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// Piped into a non-terminal stdin, the password is one line, and nothing after it is consumed.
func TestPasswordPromptReadsOneLineFromAPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.WriteString(w, "s3cret\r\nnext input\n"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	pw, err := PasswordPrompt(r, io.Discard, "Password: ")()
	if err != nil || string(pw) != "s3cret" {
		t.Fatalf("got %q, %v", pw, err)
	}
	rest, _ := io.ReadAll(r)
	if string(rest) != "next input\n" {
		t.Fatalf("the rest of stdin is %q", rest)
	}
}

// End to end: a password-protected key read through PasswordPrompt from a pipe.
func TestEncryptedKeyWithPipedPassword(t *testing.T) {
	_, sec := newTestKey(t)
	path := filepath.Join(t.TempDir(), "enc.key")
	if err := os.WriteFile(path, encryptForTest(t, sec, "s3cret", 1<<16, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	io.WriteString(w, "s3cret\n")
	w.Close()
	got, err := ReadSecretKey(path, PasswordPrompt(r, io.Discard, "Password: "))
	if err != nil || got.ID != sec.ID {
		t.Fatalf("got %v", err)
	}
	empty, w2, _ := os.Pipe()
	defer empty.Close()
	w2.Close()
	if _, err := ReadSecretKey(path, PasswordPrompt(empty, io.Discard, "Password: ")); err == nil {
		t.Fatal("an empty stdin gave a password")
	}
}
