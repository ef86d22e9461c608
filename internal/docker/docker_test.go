package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// testImage builds the probe into a one-layer image tagged bundle-test/docker-<random>:v1 and
// returns the image, its tag and the label value every container of the test carries.
func testImage(t *testing.T) (v1.Image, string, string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "probe")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./testdata/probe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the probe: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777})
	tw.WriteHeader(&tar.Header{Name: "probe", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data))})
	tw.Write(data)
	tw.Close()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	random := make([]byte, 6)
	rand.Read(random)
	id := hex.EncodeToString(random)
	img, err = mutate.Config(img, v1.Config{Entrypoint: []string{"/probe"}, Labels: map[string]string{"bundle-test": id}})
	if err != nil {
		t.Fatal(err)
	}
	return img, "bundle-test/docker-" + id + ":v1", id
}

func TestEngineAndComposeVersions(t *testing.T) {
	var r Runner
	for _, get := range []func(context.Context) (string, error){r.Version, r.ComposeVersion} {
		v, err := get(context.Background())
		if err != nil {
			t.Fatalf("docker is required for these tests: %v", err)
		}
		if v == "" || v[0] < '0' || v[0] > '9' {
			t.Errorf("version %q", v)
		}
	}
}

func TestLoadInspectRunRemove(t *testing.T) {
	ctx := context.Background()
	var log bytes.Buffer
	r := &Runner{Log: &log}
	img, ref, id := testImage(t)
	t.Cleanup(func() { cleanup(t, r, ref, id) })

	pr, pw := io.Pipe()
	go func() {
		tag, _ := name.NewTag(ref)
		pw.CloseWithError(tarball.Write(tag, img, pw))
	}()
	loaded, err := r.Load(ctx, pr)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 1 || loaded[0] != ref {
		t.Fatalf("loaded %q, want [%s]", loaded, ref)
	}
	if !strings.Contains(log.String(), "$ docker load\nLoaded image: "+ref) {
		t.Errorf("log lacks the command and its output:\n%s", log.String())
	}
	gotID, err := r.ImageInspect(ctx, ref)
	wantID, _ := img.ConfigName()
	if err != nil || gotID != wantID.String() {
		t.Errorf("image ID %q, %v; want %s", gotID, err, wantID)
	}
	images, err := r.Images(ctx, "label=bundle-test="+id)
	if err != nil || len(images) != 1 || images[0].Ref() != ref || images[0].ID != wantID.String() {
		t.Errorf("images: %+v, %v", images, err)
	}

	testRun(t, r, ref, id)
	testContainers(t, r, ref, id)

	if err := r.RemoveImages(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.ImageExists(ctx, ref); ok || err != nil {
		t.Errorf("after removal: exists=%v, %v", ok, err)
	}
	if err := r.RemoveImages(ctx, ref); err != nil {
		t.Errorf("removing an absent image again: %v", err)
	}
	if _, err := r.ImageInspect(ctx, ref); !errors.Is(err, ErrNoSuchImage) {
		t.Errorf("inspecting an absent image: %v, want ErrNoSuchImage", err)
	}
}

func testRun(t *testing.T, r *Runner, ref, id string) {
	ctx := context.Background()
	labels := map[string]string{"bundle-test": id}
	var out bytes.Buffer
	err := r.Run(ctx, RunOptions{Image: ref, Args: []string{"echo", "hello world"}, Remove: true, Network: "none", Labels: labels, Stdout: &out})
	if err != nil || out.String() != "hello world\n" {
		t.Errorf("echo: %q, %v", out.String(), err)
	}
	out.Reset()
	err = r.Run(ctx, RunOptions{Image: ref, Args: []string{"env", "SKIP_CONFIRM"}, Env: []string{"SKIP_CONFIRM=y"}, Remove: true, Network: "none", Labels: labels, Stdout: &out})
	if err != nil || out.String() != "y\n" {
		t.Errorf("env: %q, %v", out.String(), err)
	}
	out.Reset()
	err = r.Run(ctx, RunOptions{Image: ref, Args: []string{"cat"}, Stdin: strings.NewReader("y\n"), Remove: true, Network: "none", Labels: labels, Stdout: &out})
	if err != nil || out.String() != "y\n" {
		t.Errorf("stdin: %q, %v", out.String(), err)
	}
	dir := t.TempDir()
	err = r.Run(ctx, RunOptions{Image: ref, Args: []string{"write", "/mnt/f", "data"}, User: "10000:10000", Remove: true, Network: "none", Labels: labels,
		Mounts: []Mount{{Source: dir, Target: "/mnt"}}})
	if err == nil {
		t.Error("uid 10000 wrote into a root-owned 0700 dir")
	}
	os.Chmod(dir, 0o777)
	if err := r.Run(ctx, RunOptions{Image: ref, Args: []string{"write", "/mnt/f", "data"}, User: "10000:10000", Remove: true, Network: "none", Labels: labels,
		Mounts: []Mount{{Source: dir, Target: "/mnt"}}}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "f")); err != nil || string(b) != "data" {
		t.Errorf("mounted file: %q, %v", b, err)
	}
	err = r.Run(ctx, RunOptions{Image: ref, Args: []string{"exit", "102"}, Remove: true, Network: "none", Labels: labels})
	var exit *ExitError
	if !errors.As(err, &exit) || exit.ExitCode != 102 || !strings.Contains(exit.Stderr, "exiting with 102") {
		t.Errorf("exit code: %v", err)
	}
	err = r.Run(ctx, RunOptions{Image: ref, Mounts: []Mount{{Source: "harbor.yml", Target: "/x"}}, Remove: true, Network: "none"})
	if err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("relative mount: %v", err)
	}
	err = r.Run(ctx, RunOptions{Image: "bundle-test/absent-" + id + ":v1", Remove: true, Network: "none"})
	if !errors.Is(err, ErrNoSuchImage) {
		t.Errorf("absent image: %v, want ErrNoSuchImage without a pull", err)
	}
}

func testContainers(t *testing.T, r *Runner, ref, id string) {
	ctx := context.Background()
	name := "bundle-test-docker-" + id
	err := r.Run(ctx, RunOptions{Image: ref, Name: name, Args: []string{"exit", "3"}, Network: "none", Labels: map[string]string{"bundle-test": id}})
	if err == nil {
		t.Fatal("exit 3 reported as success")
	}
	cs, err := r.PS(ctx, "label=bundle-test="+id)
	if err != nil || len(cs) != 1 {
		t.Fatalf("ps: %+v, %v", cs, err)
	}
	c := cs[0]
	if c.Name != name || c.Image != ref || c.State != "exited" || c.ExitCode != 3 || c.Labels["bundle-test"] != id || c.Health != "" {
		t.Errorf("container: %+v", c)
	}
	logs, err := r.Logs(ctx, name, "")
	if err != nil || !strings.Contains(logs, "exiting with 3") {
		t.Errorf("logs: %q, %v", logs, err)
	}
	if err := r.RemoveContainers(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if cs, err := r.PS(ctx, "label=bundle-test="+id); err != nil || len(cs) != 0 {
		t.Errorf("after removal: %+v, %v", cs, err)
	}
}

// cleanup removes whatever the test left: containers with its label, then its image.
func cleanup(t *testing.T, r *Runner, ref, id string) {
	ctx := context.Background()
	cs, err := r.PS(ctx, "label=bundle-test="+id)
	if err != nil {
		t.Error(err)
	}
	for _, c := range cs {
		r.RemoveContainers(ctx, c.ID)
	}
	if err := r.RemoveImages(ctx, ref); err != nil {
		t.Error(err)
	}
}
