package fakeharbor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// harbordPackage is the static binary that plays every role inside the fake images.
const harbordPackage = "./internal/fakeharbor/cmd/harbord"

// BuildBinary builds the harbord binary for linux/amd64 (static, stripped, reproducible) into
// cacheDir and returns its path. The result is cached under a hash of every source file the
// binary is built from and of the Go version, so repeated test runs reuse it and any edit of
// the roles rebuilds it. It needs the module's source tree (go env GOMOD) and the go command.
func BuildBinary(ctx context.Context, cacheDir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	sum, err := sourceHash(ctx, root)
	if err != nil {
		return "", err
	}
	out := filepath.Join(cacheDir, "bin", "harbord-"+sum[:20])
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", fmt.Errorf("creating binary cache: %w", err)
	}
	tmp := fmt.Sprintf("%s.tmp-%d", out, os.Getpid())
	defer os.Remove(tmp)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", tmp, harbordPackage)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %w\n%s", harbordPackage, err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("caching harbord: %w", err)
	}
	return out, nil
}

func moduleRoot(ctx context.Context) (string, error) {
	b, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module root (go env GOMOD): %w", err)
	}
	gomod := strings.TrimSpace(string(b))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("finding the module root: run from inside the bundle source tree")
	}
	return filepath.Dir(gomod), nil
}

// sourceHash hashes the Go version and every file of every non-standard package harbord
// depends on.
func sourceHash(ctx context.Context, root string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-f",
		`{{if not .Standard}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}`, harbordPackage)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("listing harbord's sources: %w\n%s", err, stderr.Bytes())
	}
	ver, err := exec.CommandContext(ctx, "go", "version").Output()
	if err != nil {
		return "", fmt.Errorf("reading the go version: %w", err)
	}
	h := sha256.New()
	h.Write(ver)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		for _, name := range fields[1:] {
			if err := hashFile(h, filepath.Join(fields[0], name)); err != nil {
				return "", err
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(h io.Writer, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("hashing source: %w", err)
	}
	defer f.Close()
	fmt.Fprintf(h, "%s\x00", name)
	_, err = io.Copy(h, f)
	return err
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
