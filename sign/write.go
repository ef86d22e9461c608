package sign

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrKeyExists means WriteKeyPair would overwrite a key file and was not forced to.
var ErrKeyExists = errors.New("key file already exists")

// WriteKeyPair writes the public key file (mode 0644) and the unencrypted secret key file
// (mode 0600, whatever the umask). Unless force is set it refuses, before writing anything,
// when either file exists: overwriting a secret key loses it, and with it the trust in every
// bundle it signed. Each file is written to a temporary name, synced and renamed, so a crash
// never leaves half a key.
func WriteKeyPair(pub *PublicKey, sec *SecretKey, pubPath, secPath string, force bool) error {
	if pub.ID != sec.ID || !pub.Key.Equal(sec.Public().Key) {
		return fmt.Errorf("writing key pair: the public key does not belong to the secret key")
	}
	if same, _ := sameFile(pubPath, secPath); same || filepath.Clean(pubPath) == filepath.Clean(secPath) {
		return fmt.Errorf("writing key pair: the public and secret key files must be different files")
	}
	if !force {
		for _, p := range []string{secPath, pubPath} {
			if _, err := os.Lstat(p); err == nil {
				return fmt.Errorf("%w: %s; use --force to replace it (bundles signed with the old key then no longer verify)", ErrKeyExists, p)
			}
		}
	}
	if err := writeFileAtomic(secPath, sec.Marshal(), 0o600, force); err != nil {
		return fmt.Errorf("writing secret key: %w", err)
	}
	if err := writeFileAtomic(pubPath, pub.Marshal(), 0o644, force); err != nil {
		return fmt.Errorf("writing public key: %w", err)
	}
	return nil
}

func sameFile(a, b string) (bool, error) {
	ia, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	ib, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(ia, ib), nil
}

// writeFileAtomic writes data to path through a temporary file in the same directory. Without
// replace, the final step is a hard link, which fails if path appeared in the meantime.
func writeFileAtomic(path string, data []byte, mode fs.FileMode, replace bool) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*") // created 0600
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(mode); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmp.Name(), path)
	} else if err = os.Link(tmp.Name(), path); err == nil {
		os.Remove(tmp.Name())
	}
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s", ErrKeyExists, path)
		}
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
