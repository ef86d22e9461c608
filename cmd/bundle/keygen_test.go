package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/sign"
)

func TestKeygenHelpGolden(t *testing.T) {
	code, out, errOut := runTool(t, "keygen", "--help")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	checkGolden(t, "keygen.help.golden", []byte(out))
}

func TestKeygenFlags(t *testing.T) {
	for _, args := range [][]string{
		{"keygen", "extra"},
		{"keygen", "--no-such-flag"},
		{"keygen", "-p", ""},
	} {
		if code, _, errOut := runTool(t, args...); code != exitRefused || errOut == "" {
			t.Errorf("%q: exit %d, stderr %q; want %d and a message", args, code, errOut, exitRefused)
		}
	}
}

// With no flags keygen writes bundle.pub and bundle.key in the current directory, prints the key
// ID and how to use the keys, and the keys sign and verify.
func TestKeygenWritesAWorkingPairInTheCurrentDir(t *testing.T) {
	t.Chdir(t.TempDir())
	code, out, errOut := runTool(t, "keygen")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	pub, err := sign.ReadPublicKey("bundle.pub")
	if err != nil {
		t.Fatal(err)
	}
	sec, err := sign.ReadSecretKey("bundle.key", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Key ID " + pub.ID.String() + "\n", "--sign-key bundle.key", "minisign -Vm harbor-upgrade-1.10.run -p bundle.pub", "/etc/harbor-bundle/trusted.pub"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	sig, err := sec.SignBytes([]byte("payload"), "t")
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.VerifyBytes([]byte("payload"), sig); err != nil {
		t.Fatalf("the pair does not verify: %v", err)
	}
	if info, _ := os.Stat("bundle.key"); info.Mode().Perm() != 0o600 {
		t.Fatalf("secret key mode %04o", info.Mode().Perm())
	}
}

func TestKeygenNeverReplacesKeysWithoutForce(t *testing.T) {
	dir := t.TempDir()
	pubPath, secPath := filepath.Join(dir, "h.pub"), filepath.Join(dir, "h.key")
	if code, _, errOut := runTool(t, "keygen", "-p", pubPath, "-s", secPath); code != 0 {
		t.Fatalf("first keygen: exit %d: %s", code, errOut)
	}
	before := readAll(t, secPath)
	code, out, errOut := runTool(t, "keygen", "-p", pubPath, "-s", secPath)
	if code != exitRefused || out != "" || !strings.Contains(errOut, "--force") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("second keygen: exit %d, stdout %q, stderr %q; want exit 2 and one line naming --force", code, out, errOut)
	}
	if !bytes.Equal(before, readAll(t, secPath)) {
		t.Fatal("the secret key changed without --force")
	}
	if code, _, errOut := runTool(t, "keygen", "-p", pubPath, "-s", secPath, "--force"); code != 0 {
		t.Fatalf("keygen --force: exit %d: %s", code, errOut)
	}
	if bytes.Equal(before, readAll(t, secPath)) {
		t.Fatal("--force did not replace the secret key")
	}
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
