package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/selfextract"
)

// bigrunCmd writes a .run whose payload is `--bytes` of incompressible data in 64 MiB installer
// files, through the real payload.Writer and selfextract.Writer: verify, check and extract read
// it exactly as they read a release bundle, and making it takes seconds instead of a 5 GB fake
// release.
func bigrunCmd(_ context.Context, args []string) error {
	fs := newFlags("bigrun")
	var stub, out, size string
	fs.StringVar(&stub, "stub", "", "bundle binary to attach the payload to")
	fs.StringVar(&out, "o", "", "output .run")
	fs.StringVar(&size, "bytes", "2GiB", "payload size")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if stub == "" || out == "" {
		return errors.New("--stub BIN and -o FILE are required")
	}
	total, err := selfextract.ParseSize(size)
	if err != nil {
		return err
	}
	stubR, _, err := selfextract.StubReader(stub)
	if err != nil {
		return fmt.Errorf("reading stub: %w", err)
	}
	defer stubR.Close()
	w, err := selfextract.Create(out, stubR, true)
	if err != nil {
		return err
	}
	defer w.Abort()
	pw := payload.NewWriter(w, payload.WriterOptions{Compression: "keep"})
	const chunk = 64 << 20
	for i := 0; int64(i)*chunk < total; i++ {
		n := min(chunk, total-int64(i)*chunk)
		src := io.LimitReader(rand.NewChaCha8([32]byte{byte(i), byte(i >> 8), 'b', 'e', 'n', 'c', 'h'}), n)
		if err := pw.AddFile(fmt.Sprintf("installer/data/part%04d", i), 0o644, n, src); err != nil {
			return err
		}
	}
	m := payload.Manifest{Release: "v1.10.0", FromVersions: []string{"v1.9.4"}}
	m.Stub = payload.Stub{Size: w.PayloadOffset(), SHA256: w.StubSHA256()} // verify checks the stub too
	sum, err := pw.Close(m)
	if err != nil {
		return err
	}
	whole, _, err := w.Commit(selfextract.Trailer{ManifestOffset: uint64(sum.ManifestOffset),
		ManifestLength: uint64(sum.ManifestLength), ManifestSHA256: sum.ManifestSHA256})
	if err != nil {
		return err
	}
	return selfextract.WriteChecksums(out, whole, nil)
}
