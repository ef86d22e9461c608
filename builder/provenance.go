package builder

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Signature states recorded in the manifest when the installer's signature was not checked.
// A good signature is recorded as "gpg: good signature from KEYID".
const (
	sigNone      = "none"
	sigNoKeyring = "signature present, not checked: no keyring"
	sigNoGPG     = "signature present, not checked: gpg not installed"
)

// normalizePin checks --installer-sha256 up front, so a typo is refused before any download.
func normalizePin(pin string) (string, error) {
	pin = strings.ToLower(strings.TrimSpace(pin))
	if pin == "" {
		return "", nil
	}
	if b, err := hex.DecodeString(pin); err != nil || len(b) != 32 {
		return "", inputErrorf("--installer-sha256 %q: want the 64 hex digits of the installer's sha256", pin)
	}
	return pin, nil
}

// checkPin refuses an installer whose sha256 is not the pinned one: the pin is what the
// operator checked against the release page, so any other archive is not the release.
func checkPin(s *settings, src, got string) error {
	if s.InstallerSHA256 == "" || s.InstallerSHA256 == got {
		return nil
	}
	return inputErrorf("installer %s: sha256 is %s but --installer-sha256 pins %s; check the file or the pin", src, got, s.InstallerSHA256)
}

// installerSignature checks the release's detached .asc signature of the installer archive
// when there is one, and says what it found in one short line for the manifest. A signature
// that gpg finds bad, or that no key of the keyring made, refuses the build: the archive is
// then not what the release published.
func installerSignature(ctx context.Context, s *settings, tmpDir, src, archivePath string) (string, error) {
	asc, err := fetchSignature(ctx, s, tmpDir, src)
	if err != nil || asc == "" {
		return sigNone, err
	}
	if isURL(src) {
		defer os.Remove(asc)
	}
	gpg, err := exec.LookPath("gpg")
	if err != nil {
		return sigNoGPG, nil
	}
	if s.InstallerKeyring == "" {
		return sigNoKeyring, nil
	}
	home, err := os.MkdirTemp(tmpDir, "gnupg-*")
	if err != nil {
		return "", fmt.Errorf("creating a GNUPGHOME: %w", err)
	}
	defer os.RemoveAll(home)
	if out, err := runGPG(ctx, gpg, home, "--import", s.InstallerKeyring); err != nil {
		return "", inputErrorf("--installer-keyring %s: gpg cannot import it (%s); give an exported public key file", s.InstallerKeyring, firstLine(out, err))
	}
	status, err := runGPG(ctx, gpg, home, "--status-fd", "1", "--verify", asc, archivePath)
	return verdict(src, status, err)
}

// fetchSignature finds SRC.asc: next to a local installer, or at the installer URL + ".asc".
// It returns "" when there is none.
func fetchSignature(ctx context.Context, s *settings, tmpDir, src string) (string, error) {
	if !isURL(src) {
		asc := src + ".asc"
		if _, err := os.Stat(asc); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", nil
			}
			return "", fmt.Errorf("reading installer signature: %w", err)
		}
		return asc, nil
	}
	p, err := downloadRetrying(ctx, s, tmpDir, src+".asc")
	var se *statusError
	if errors.As(err, &se) && (se.code == http.StatusNotFound || se.code == http.StatusForbidden) {
		return "", nil // GitHub answers 404 for a release without .asc
	}
	if err != nil {
		return "", fmt.Errorf("downloading installer signature %s.asc: %w", src, err)
	}
	return p, nil
}

// runGPG runs gpg in its own GNUPGHOME so that neither the user's keys nor their trust settings
// take part: only the keyring given counts.
func runGPG(ctx context.Context, gpg, home string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, gpg, append([]string{"--batch", "--no-tty", "--homedir", home}, args...)...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+home, "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.Bytes(), err
}

// verdict reads gpg's machine-readable status lines (doc/DETAILS of GnuPG).
func verdict(src string, status []byte, runErr error) (string, error) {
	var good, bad, nokey, note string
	valid := false
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || f[0] != "[GNUPG:]" {
			continue
		}
		switch f[1] {
		case "GOODSIG":
			good = f[2]
		case "EXPKEYSIG": // made while the key was valid; say so rather than refuse old releases
			good, note = f[2], " (key expired since)"
		case "VALIDSIG":
			valid = true
		case "BADSIG", "REVKEYSIG":
			bad = f[2]
		case "ERRSIG", "NO_PUBKEY":
			nokey = f[2]
		}
	}
	switch {
	case bad != "":
		return "", inputErrorf("installer %s: its .asc signature is BAD (key %s): the archive is not what the release signed; refusing", src, bad)
	case good != "" && valid && runErr == nil:
		return "gpg: good signature from " + good + note, nil
	case nokey != "":
		return "", inputErrorf("installer %s: its .asc is signed by key %s, which is not in --installer-keyring; refusing", src, nokey)
	default:
		return "", inputErrorf("installer %s: gpg could not check its .asc signature (%s); refusing", src, firstLine(status, runErr))
	}
}

func firstLine(out []byte, err error) string {
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "[GNUPG:]") {
			return l
		}
	}
	if err != nil {
		return err.Error()
	}
	return "no output"
}

// keyringPath makes --installer-keyring absolute, so gpg finds it whatever its working directory.
func keyringPath(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", inputErrorf("--installer-keyring %s: %v", p, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return "", inputErrorf("--installer-keyring %s: no such file; give gpg's exported public key(s)", p)
	}
	return abs, nil
}
