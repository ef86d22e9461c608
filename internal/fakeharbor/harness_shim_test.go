package fakeharbor

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDockerShimDropsOnlyPrivileged: the shim passes every argument (spaces, empty ones, $@
// order) to the docker found on PATH, except --privileged.
func TestDockerShimDropsOnlyPrivileged(t *testing.T) {
	fake := t.TempDir()
	// A "docker" that prints its arguments one per line, bracketed.
	if err := os.WriteFile(filepath.Join(fake, "docker"), []byte("#!/bin/sh\nfor a do echo \"[$a]\"; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", fake+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir, err := WriteDockerShim(filepath.Join(t.TempDir(), "bin"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(dir, "docker"), "run", "--rm", "-v", "/a b:/input", "--privileged", "", "goharbor/prepare:v2.13.5", "prepare", "--with-trivy")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	want := "[run]\n[--rm]\n[-v]\n[/a b:/input]\n[]\n[goharbor/prepare:v2.13.5]\n[prepare]\n[--with-trivy]\n"
	if string(out) != want {
		t.Errorf("docker got\n%s\nwant\n%s", out, want)
	}
	if !strings.Contains(stderr.String(), "dropping --privileged") {
		t.Errorf("the shim did not say it dropped --privileged: %q", stderr.String())
	}
}
