package roles

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// writeFile writes a container path (mapped by env) with mode, creating its directory, and
// chowns it to uid unless uid < 0. Not atomic: prepare's outputs are regenerated on every run.
func writeFile(env *Env, path string, data []byte, mode os.FileMode, uid int) error {
	p := env.Path(path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("creating the directory of %s: %w", path, err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(p, mode); err != nil {
		return fmt.Errorf("setting the mode of %s: %w", path, err)
	}
	if uid >= 0 {
		if err := os.Chown(p, uid, uid); err != nil {
			return fmt.Errorf("changing the owner of %s: %w", path, err)
		}
	}
	return nil
}

// writeAtomic replaces path with data so that a crash leaves either the old or the new file:
// temp file in the same directory, fsync, rename, fsync of the directory.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// owner is the uid owning a file.
func owner(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// randomString returns n characters from [A-Za-z0-9], as Harbor's secrets are made.
func randomString(n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}
