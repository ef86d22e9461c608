package main

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

func TestServePrintsAddressesFirst(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--versions", "v1.10.0", "--cache", t.TempDir()}, pw) }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^registry=(127\.0\.0\.1:\d+) installers=(http://127\.0\.0\.1:\d+)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("first line %q", line)
	}
	go io.Copy(io.Discard, pr)
	for _, url := range []string{"http://" + m[1] + "/v2/goharbor/harbor-core/manifests/v1.10.0",
		m[2] + "/goharbor/harbor/releases/download/v1.10.0/harbor-online-installer-v1.10.0.tgz"} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", url, resp.Status)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v after interrupt", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop when interrupted")
	}
}

func TestImagesWritesDockerArchive(t *testing.T) {
	out := filepath.Join(t.TempDir(), "v1.9.4.tar")
	if err := run(context.Background(), []string{"images", "--version", "v1.9.4", "-o", out, "--cache", t.TempDir()}, io.Discard); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("no manifest.json in %s: %v", out, err)
		}
		if hdr.Name == "manifest.json" {
			return
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"bogus"}, {"images", "-o", "x.tar"}, {"images", "--version", "v1.10.0"}, {"serve", "extra"}, {"install", "--version", "v1.9.4"}, {"check"}} {
		if err := run(context.Background(), args, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	if err := run(context.Background(), []string{"list", "--version", "v9.9.9"}, io.Discard); err == nil {
		t.Error("unknown version accepted")
	}
}
