package builder

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// distributionVersion is the release of the reference registry implementation (CNCF
// distribution, what Docker Hub and Harbor itself run) the builder is tested against.
const distributionVersion = "v3.1.2"

// TestBuildFromDistribution builds from a second, independent registry implementation: the
// real distribution registry, built from its Go module and started on a free port, with
// htpasswd authentication; the credentials come from a temporary docker config, as they would
// after `docker login`.
func TestBuildFromDistribution(t *testing.T) {
	srv := fakeHarbor(t)
	bin := distributionBinary(t)
	const user, password = "builder", "s3cret-pass"
	addr := startDistribution(t, bin, htpasswdLine(t, user, password))
	rel, err := release.Get("v1.10.0")
	if err != nil {
		t.Fatal(err)
	}

	// Without credentials the registry refuses, and the error says how to log in.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	pushFake(t, srv, addr, &authn.Basic{Username: user, Password: password})
	opts := testOptions(t, srv, &registryProxy{Addr: addr}, t.TempDir())
	opts.Keychain = nil // authn.DefaultKeychain: the docker config
	_, err = Build(context.Background(), opts)
	var pe *PullError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "docker login "+addr) {
		t.Fatalf("anonymous build: %v; want a refusal that says docker login %s", err, addr)
	}

	writeDockerConfig(t, addr, user, password)
	res, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatalf("build from distribution: %v", err)
	}
	pr := openBundle(t, res.File)
	checkImages(t, addr, rel, pr.Manifest().Images, "zstd", remote.WithAuthFromKeychain(authn.DefaultKeychain))
	checkInstallerEntries(t, pr.Manifest().Entries)
	checkLayout(t, pr, len(rel.Images))
}

// distributionBinary builds the registry from its module (go install pkg@version, outside our
// module so go.mod is untouched) once per machine, cached under the user cache dir.
func distributionBinary(t *testing.T) string {
	t.Helper()
	dir, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "harbor-bundle-test", "distribution-"+distributionVersion, "registry")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(bin), "build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "install", "github.com/distribution/distribution/v3/cmd/registry@"+distributionVersion)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the distribution registry %s (needs its module in the Go module cache or the Go proxy): %v\n%s", distributionVersion, err, out)
	}
	if err := os.Rename(filepath.Join(tmp, "registry"), bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// htpasswdLine makes "user:bcrypt-hash" with golang.org/x/crypto/bcrypt, built as a tiny
// program in its own temporary module: bundle's module does not depend on x/crypto.
func htpasswdLine(t *testing.T, user, password string) string {
	t.Helper()
	dir := t.TempDir()
	const prog = `package main

import (
	"fmt"
	"os"

	"golang.org/x/crypto/bcrypt"
)

func main() {
	h, err := bcrypt.GenerateFromPassword([]byte(os.Args[2]), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s:%s\n", os.Args[1], h)
}
`
	os.WriteFile(filepath.Join(dir, "main.go"), []byte(prog), 0o644)
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module htpasswd\n\ngo 1.22\n\nrequire golang.org/x/crypto v0.57.0\n"), 0o644)
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir, tidy.Env = dir, env
	if out, err := tidy.CombinedOutput(); err != nil {
		t.Fatalf("preparing the htpasswd helper: %v\n%s", err, out)
	}
	run := exec.Command("go", "run", ".", user, password)
	run.Dir, run.Env = dir, env
	out, err := run.Output()
	if err != nil {
		t.Fatalf("running the htpasswd helper: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// startDistribution runs the registry on a free 127.0.0.1 port with htpasswd auth and returns
// its address once it answers.
func startDistribution(t *testing.T, bin, htpasswd string) string {
	t.Helper()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(htpasswd+"\n"), 0o600)
	config := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s/data
http:
  addr: %s
  secret: bundle-test
auth:
  htpasswd:
    realm: bundle-test
    path: %s/htpasswd
`, dir, addr, dir)
	os.WriteFile(filepath.Join(dir, "config.yml"), []byte(config), 0o644)
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("distribution registry did not start on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pushFake copies the fake's 1.10.0 images to the registry at addr under the same names.
func pushFake(t *testing.T, srv interface {
	Release(string) ([]fakeImageRef, error)
}, addr string, auth authn.Authenticator) {
	t.Helper()
	refs, err := srv.Release("v1.10.0")
	if err != nil {
		t.Fatal(err)
	}
	images := map[name.Reference]remote.Taggable{}
	for _, r := range refs {
		tag, err := name.NewTag(addr + "/" + r.Ref)
		if err != nil {
			t.Fatal(err)
		}
		images[tag] = r.Image
	}
	if err := remote.MultiWrite(images, remote.WithAuth(auth)); err != nil {
		t.Fatalf("pushing the fake images to distribution: %v", err)
	}
}

// writeDockerConfig writes $DOCKER_CONFIG/config.json as `docker login` would.
func writeDockerConfig(t *testing.T, addr, user, password string) {
	t.Helper()
	cfg := map[string]any{"auths": map[string]any{addr: map[string]string{
		"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password)),
	}}}
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}
