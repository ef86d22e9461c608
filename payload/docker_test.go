package payload

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDockerArchiveLoads feeds DockerArchive to the real `docker load`: gzip layers, zstd layers
// (decompressed on the fly) and layers shared between images must all load, each image with
// the image ID equal to its config digest.
func TestDockerArchiveLoads(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Fatalf("docker is needed for this test: %v", err)
	}
	suffix := make([]byte, 6)
	rand.Read(suffix)
	repo := "bundle-test/payload-" + hex.EncodeToString(suffix)
	zimg, err := ZstdImage(randomImage(t, 4096, 2), LevelDefault, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	crafted := testImages(t)
	images := []testImage{
		{repo + ":t1", "core", randomImage(t, 4096, 2)},
		{repo + ":t2", "core", zimg},
		{repo + ":t3", "core", crafted[0].img}, // t3 and t4 share a base layer
		{repo + ":t4", "core", crafted[1].img},
	}
	b, sum := writePayload(t, WriterOptions{Compression: "keep"}, images, nil)
	r := openPayload(t, b, sum)
	t.Cleanup(func() { removeImages(t, r.Manifest()) })
	ctx, cancel := context.WithTimeout(bg, 2*time.Minute)
	defer cancel()
	if err := dockerLoad(ctx, r, nil); err != nil {
		t.Fatal(err)
	}
	for _, im := range r.Manifest().Images {
		out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", im.Ref).Output()
		if err != nil {
			t.Errorf("docker image inspect %s: %v", im.Ref, err)
			continue
		}
		if id := strings.TrimSpace(string(out)); id != im.ConfigDigest {
			t.Errorf("%s: image ID %s, want the config digest %s", im.Ref, id, im.ConfigDigest)
		}
	}
}

func dockerLoad(ctx context.Context, r *Reader, refs []string) error {
	pr, pw := io.Pipe()
	cmd := exec.CommandContext(ctx, "docker", "load")
	cmd.Stdin = pr
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	go func() { pw.CloseWithError(r.DockerArchive(ctx, pw, refs)) }()
	if err := cmd.Run(); err != nil {
		pr.CloseWithError(err)
		return errors.New("docker load: " + err.Error() + ": " + out.String())
	}
	return nil
}

// TestDockerArchiveFormat checks the archive without docker: shared layers once, zstd
// decompressed, gzip passed through, refs selecting images.
func TestDockerArchiveFormat(t *testing.T) {
	for _, compression := range []string{"keep", "zstd"} {
		t.Run(compression, func(t *testing.T) {
			images := testImages(t)
			b, sum := writePayload(t, WriterOptions{Compression: compression}, images, nil)
			r := openPayload(t, b, sum)
			refs := []string{images[0].ref, images[1].ref}
			var buf bytes.Buffer
			if err := r.DockerArchive(bg, &buf, refs); err != nil {
				t.Fatal(err)
			}
			names, manifest := readDockerArchive(t, &buf, compression)
			if len(manifest) != 2 || manifest[0].RepoTags[0] != refs[0] {
				t.Fatalf("manifest.json: %+v", manifest)
			}
			for n, c := range names {
				if c != 1 {
					t.Errorf("%s written %d times", n, c)
				}
			}
			for _, e := range manifest {
				for _, l := range append(e.Layers, e.Config) {
					if names[l] != 1 {
						t.Errorf("%s missing from the archive", l)
					}
				}
			}
		})
	}
	b, sum := writePayload(t, WriterOptions{}, nil, nil)
	if err := openPayload(t, b, sum).DockerArchive(bg, io.Discard, []string{"nope:1"}); err == nil {
		t.Error("DockerArchive of an unknown ref succeeded")
	}
}

// TestDockerArchiveStops: a consumer that goes away, or a cancelled context, ends the stream
// with that error, never an IntegrityError that would blame an intact bundle.
func TestDockerArchiveStops(t *testing.T) {
	// Layers of 4 MiB: the stream writes more than its 1 MiB buffer, so the failure comes
	// while a layer is being decompressed.
	images := []testImage{{"reg.example/a:1", "core", randomImage(t, 4<<20, 3)}}
	b, sum := writePayload(t, WriterOptions{Compression: "zstd"}, images, nil)
	r := openPayload(t, b, sum)
	gone := errors.New("docker load went away")
	err := r.DockerArchive(bg, &failAfter{n: 5 << 20, err: gone}, nil)
	if !errors.Is(err, gone) || errors.As(err, new(*IntegrityError)) {
		t.Errorf("consumer gone: %v", err)
	}
	ctx, cancel := context.WithCancel(bg)
	err = r.DockerArchive(ctx, &failAfter{n: 5 << 20, cancel: cancel}, nil)
	if !errors.Is(err, context.Canceled) || errors.As(err, new(*IntegrityError)) {
		t.Errorf("cancelled: %v", err)
	}
}

// failAfter takes n bytes, then fails with err, or cancels and takes the rest.
type failAfter struct {
	n      int
	err    error
	cancel func()
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n >= 0 {
		return len(p), nil
	}
	if f.cancel != nil {
		f.cancel()
		return len(p), nil
	}
	return 0, f.err
}

// readDockerArchive counts the archive's entries and checks each layer's compression: gzip
// when the payload kept layers, plain tar when it holds zstd.
func readDockerArchive(t *testing.T, r io.Reader, compression string) (map[string]int, []dockerManifestEntry) {
	t.Helper()
	tr := tar.NewReader(r)
	names := map[string]int{}
	var manifest []dockerManifestEntry
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names, manifest
		}
		if err != nil {
			t.Fatal(err)
		}
		names[hdr.Name]++
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name == "manifest.json" {
			json.Unmarshal(data, &manifest)
		}
		if !strings.HasSuffix(hdr.Name, "/layer.tar") {
			continue
		}
		gz := bytes.HasPrefix(data, gzipMagic)
		if gz != (compression == "keep") || bytes.HasPrefix(data, zstdMagic) {
			t.Errorf("%s: gzip %v with %s compression", hdr.Name, gz, compression)
		}
		// One zstd decoder is reset for every layer: each must still come out as itself.
		if sum := sha256.Sum256(data); !gz && hex.EncodeToString(sum[:]) != strings.TrimSuffix(hdr.Name, "/layer.tar") {
			t.Errorf("%s decompresses to content with sha256 %x", hdr.Name, sum)
		}
	}
}

// removeImages removes exactly the images the test loaded: by tag, and by ID in case a load
// went wrong and left them untagged. IDs are config digests of random images: no one else's.
func removeImages(t *testing.T, m *Manifest) {
	for _, im := range m.Images {
		exec.Command("docker", "rmi", im.Ref).Run()
	}
	for _, im := range m.Images {
		if out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", im.ConfigDigest).Output(); err == nil {
			exec.Command("docker", "rmi", strings.TrimSpace(string(out))).Run()
		}
	}
}
