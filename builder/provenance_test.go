package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// gpgKey is a throwaway gpg key made for one test, in its own GNUPGHOME.
type gpgKey struct {
	home    string
	keyring string // the exported public key, what --installer-keyring takes
	id      string // long key id, as gpg's GOODSIG status line names it
}

// newGPGKey generates an ed25519 signing key without passphrase. The test fails when gpg is
// missing: it is part of the test setup (Debian's gnupg).
func newGPGKey(t *testing.T, name string) *gpgKey {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Fatalf("gpg is needed by this test (apt-get install gnupg): %v", err)
	}
	home, err := os.MkdirTemp("", "gpgt-") // short: gpg-agent's socket path is limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
		os.RemoveAll(home)
	})
	k := &gpgKey{home: home, keyring: filepath.Join(t.TempDir(), name+".pub")}
	k.gpg(t, "--passphrase", "", "--quick-gen-key", name+" <"+name+"@example.invalid>", "ed25519", "sign", "never")
	k.gpg(t, "--output", k.keyring, "--export", name+"@example.invalid")
	for _, line := range strings.Split(k.gpg(t, "--with-colons", "--list-keys", name+"@example.invalid"), "\n") {
		if f := strings.Split(line, ":"); f[0] == "pub" && len(f) > 4 {
			k.id = f[4]
		}
	}
	if k.id == "" {
		t.Fatal("no key id in gpg --list-keys")
	}
	return k
}

func (k *gpgKey) gpg(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("gpg", append([]string{"--batch", "--yes", "--pinentry-mode", "loopback", "--homedir", k.home}, args...)...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+k.home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gpg %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// sign writes file.asc, an armored detached signature as Harbor's releases publish.
func (k *gpgKey) sign(t *testing.T, file, asc string) {
	t.Helper()
	k.gpg(t, "--passphrase", "", "--armor", "--output", asc, "--detach-sign", file)
}

// TestInstallerProvenance: --installer-sha256 pins the installer and the release's .asc is
// checked with gpg against --installer-keyring, with the installer and its .asc served over
// HTTP on 127.0.0.1 (and once as local files). A bad pin, a bad signature and a signature by a
// key outside the keyring refuse the build with exit status 2 and write nothing; the result
// is recorded in the manifest.
func TestInstallerProvenance(t *testing.T) {
	srv := fakeHarbor(t)
	proxy := startProxy(t, "http://"+srv.RegistryAddr)
	cache := t.TempDir()
	release, other := newGPGKey(t, "release"), newGPGKey(t, "other")

	// The served directory: good.tgz with a good .asc, bad.tgz whose .asc signs other bytes,
	// stranger.tgz signed by a key outside the keyring, nosig.tgz without .asc.
	dir := t.TempDir()
	tgz := fetch(t, srv.InstallerURL("v1.10.0", false))
	for _, n := range []string{"good", "bad", "stranger", "nosig"} {
		writeFile(t, filepath.Join(dir, n+".tgz"), tgz)
	}
	release.sign(t, filepath.Join(dir, "good.tgz"), filepath.Join(dir, "good.tgz.asc"))
	writeFile(t, filepath.Join(dir, "tampered"), append(slices.Clone(tgz), 0))
	release.sign(t, filepath.Join(dir, "tampered"), filepath.Join(dir, "bad.tgz.asc"))
	other.sign(t, filepath.Join(dir, "stranger.tgz"), filepath.Join(dir, "stranger.tgz.asc"))
	files := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(files.Close)
	sum := sha256Hex(tgz)
	good := "gpg: good signature from " + release.id

	cases := []struct {
		name      string
		installer string
		pin       string
		keyring   string
		want      string // the manifest's installer signature, or the refusal's message
		refused   bool
		noGPG     bool // run with a PATH where there is no gpg
	}{
		{"good signature", files.URL + "/good.tgz", sum, release.keyring, good, false, false},
		{"good signature, local file", filepath.Join(dir, "good.tgz"), "", release.keyring, good, false, false},
		{"no keyring", files.URL + "/good.tgz", "", "", "signature present, not checked: no keyring", false, false},
		{"gpg not installed", files.URL + "/good.tgz", "", release.keyring, "signature present, not checked: gpg not installed", false, true},
		{"missing .asc", files.URL + "/nosig.tgz", strings.ToUpper(sum), release.keyring, "none", false, false},
		{"bad signature", files.URL + "/bad.tgz", "", release.keyring, "signature is BAD", true, false},
		{"bad signature, local file", filepath.Join(dir, "bad.tgz"), "", release.keyring, "signature is BAD", true, false},
		{"signed by another key", files.URL + "/stranger.tgz", "", release.keyring, "not in --installer-keyring", true, false},
		{"pin mismatch", files.URL + "/good.tgz", strings.Repeat("ab", 32), release.keyring, "--installer-sha256 pins " + strings.Repeat("ab", 32), true, false},
		{"pin not hex", files.URL + "/good.tgz", "nope", "", "64 hex digits", true, false},
		{"keyring missing", files.URL + "/good.tgz", "", filepath.Join(dir, "nope.pub"), "--installer-keyring", true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.noGPG {
				t.Setenv("PATH", t.TempDir())
			}
			opts := testOptions(t, srv, proxy, cache)
			opts.Installer, opts.InstallerSHA256, opts.InstallerKeyring = c.installer, c.pin, c.keyring
			out := filepath.Dir(opts.Output)
			before := listTree(t, out)
			res, err := Build(context.Background(), opts)
			if c.refused {
				var ie *InputError
				if err == nil || !errors.As(err, &ie) || ie.ExitCode() != 2 {
					t.Fatalf("Build: %v; want an InputError (exit 2)", err)
				}
				if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
					t.Errorf("message %q: want one line containing %q", msg, c.want)
				}
				if after := listTree(t, out); !slices.Equal(before, after) {
					t.Errorf("output directory changed:\nbefore %v\nafter  %v", before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if got := openBundle(t, res.File).Manifest().Installer; got.Signature != c.want || got.SHA256 != sum {
				t.Errorf("manifest installer = %+v; want signature %q, sha256 %s", got, c.want, sum)
			}
			if res.Installer.Signature != c.want {
				t.Errorf("result installer signature %q; want %q", res.Installer.Signature, c.want)
			}
		})
	}
}

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestVerdict reads gpg's status lines as GnuPG documents them, including the cases the
// throwaway keys above do not produce (an expired or revoked key).
func TestVerdict(t *testing.T) {
	const id = "0123456789ABCDEF"
	valid := "[GNUPG:] VALIDSIG AAAA 2020-01-01 0 4 0 22 8 00 AAAA\n"
	cases := []struct {
		status, want string // want: the recorded state, or part of the refusal
		refused      bool
	}{
		{"[GNUPG:] GOODSIG " + id + " release\n" + valid, "gpg: good signature from " + id, false},
		{"[GNUPG:] EXPKEYSIG " + id + " release\n" + valid, "gpg: good signature from " + id + " (key expired since)", false},
		{"[GNUPG:] GOODSIG " + id + " release\n", "could not check", true}, // no VALIDSIG
		{"[GNUPG:] BADSIG " + id + " release\n", "BAD (key " + id + ")", true},
		{"[GNUPG:] REVKEYSIG " + id + " release\n" + valid, "BAD (key " + id + ")", true},
		{"[GNUPG:] ERRSIG " + id + " 22 8 00 1 9\n[GNUPG:] NO_PUBKEY " + id + "\n", "key " + id + ", which is not in --installer-keyring", true},
		{"gpg: no valid OpenPGP data found.\n", "no valid OpenPGP data found", true},
	}
	for _, c := range cases {
		got, err := verdict("x.tgz", []byte(c.status), nil)
		if c.refused {
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%q: got %q, %v; want a refusal mentioning %q", c.status, got, err, c.want)
			}
		} else if err != nil || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.status, got, err, c.want)
		}
	}
}
