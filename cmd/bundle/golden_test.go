package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/harborbundle/bundle/selfextract"
)

// update rewrites golden files: go test ./cmd/bundle -update. Shared by every verb's tests.
var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// checkGolden compares got with testdata/NAME, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./cmd/bundle -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./cmd/bundle -update if intended):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// runTool runs the plain bundle tool (no payload attached) with args and returns its exit code,
// stdout and stderr.
func runTool(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, bytes.NewReader(nil), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestMain(m *testing.M) {
	// In-process runs are the plain tool: the test binary carries no payload. (Child processes
	// started from .run files read their own payload as usual.)
	openSelf = func() (*selfextract.Bundle, error) { return nil, selfextract.ErrNoPayload }
	os.Exit(m.Run())
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
