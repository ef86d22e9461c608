package upgrade

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/progress"
)

// tarSource streams a fixed docker-archive, optionally cut before its end-of-archive blocks
// and then failing as a blob whose sha256 is found wrong at its end does.
type tarSource struct {
	archive []byte
	fail    error
}

func (s tarSource) Manifest() *payload.Manifest                     { return &payload.Manifest{} }
func (s tarSource) Verify(context.Context, progress.Reporter) error { return nil }
func (s tarSource) OpenEntry(string) (io.ReadCloser, error)         { return nil, errors.New("no entries") }
func (s tarSource) DockerArchive(_ context.Context, w io.Writer, _ []string) error {
	if s.fail == nil {
		_, err := w.Write(s.archive)
		return err
	}
	// Every file is there but the tar's closing 1024 zero bytes: a reader that took the end of
	// its input for the end of the archive would load the image.
	if _, err := w.Write(bytes.TrimRight(s.archive, "\x00")); err != nil {
		return err
	}
	return s.fail
}

// TestStreamLoad drives the real docker load: a whole archive loads; an archive that fails
// after all its files went into the pipe loads nothing (docker load is killed before it can
// read an end of input) and the archive's error is the one reported; docker load failing
// first (input that is no archive) does not leave the writer blocked, and docker's error is
// reported.
func TestStreamLoad(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Fatalf("docker is needed for this test: %v", err)
	}
	suffix := make([]byte, 6)
	rand.Read(suffix)
	ref := "bundle-test/streamload-" + hex.EncodeToString(suffix) + ":t1"
	img, err := random.Image(1<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(ref)
	var archive bytes.Buffer
	if err := tarball.Write(tag, img, &archive); err != nil {
		t.Fatal(err)
	}
	id, _ := img.ConfigName()
	t.Cleanup(func() {
		exec.Command("docker", "rmi", ref).Run()
		exec.Command("docker", "rmi", id.String()).Run()
	})
	eng := NewDockerEngine(io.Discard)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	loaded := func() bool { return exec.Command("docker", "image", "inspect", id.String()).Run() == nil }

	damaged := &payload.IntegrityError{Path: "blobs/sha256/x", Reason: "sha256 mismatch"}
	err = streamLoad(ctx, tarSource{archive: archive.Bytes(), fail: damaged}, eng, nil, nil)
	if !errors.As(err, new(*payload.IntegrityError)) {
		t.Errorf("damaged archive: %v, want the archive's IntegrityError", err)
	}
	if loaded() {
		t.Fatal("a damaged archive loaded its image")
	}

	junk := bytes.Repeat([]byte("not a tar archive "), 4<<20) // far more than the pipe holds
	done := make(chan error, 1)
	go func() { done <- streamLoad(ctx, tarSource{archive: junk}, eng, nil, nil) }()
	select {
	case err := <-done:
		if err == nil || errors.As(err, new(*payload.IntegrityError)) || !strings.Contains(err.Error(), "docker load") {
			t.Errorf("junk: %v, want docker load's error", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("docker load failed and the writer is still blocked")
	}

	var seen bytes.Buffer
	if err := streamLoad(ctx, tarSource{archive: archive.Bytes()}, eng, nil, &seen); err != nil {
		t.Fatal(err)
	}
	if !loaded() || seen.Len() != archive.Len() {
		t.Errorf("whole archive: loaded %v, progress saw %d of %d bytes", loaded(), seen.Len(), archive.Len())
	}
}
