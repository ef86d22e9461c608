package selfextract

import (
	"bytes"
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestVerifyRefusesTrailersPointingOutside: a .run whose trailer (with a valid checksum, so
// only its numbers lie) points outside the file is refused by Verify, the check `bundle verify`
// and the .run run, with one line naming the trailer, before any large allocation.
func TestVerifyRefusesTrailersPointingOutside(t *testing.T) {
	const maxAlloc = 64 << 20
	stub := []byte("#!/bin/false stub bytes")
	payload := bytes.Repeat([]byte("payload!"), 1000)
	cases := map[string]func(tr *Trailer, size uint64){
		"payload past the end":        func(tr *Trailer, size uint64) { tr.PayloadLength = size * 1000 },
		"payload starts past the end": func(tr *Trailer, size uint64) { tr.PayloadOffset = size + 1 },
		"payload starts inside stub":  func(tr *Trailer, size uint64) { tr.PayloadOffset = 0 },
		"manifest past the payload":   func(tr *Trailer, size uint64) { tr.ManifestOffset = tr.PayloadLength + 1 },
		"1 TB manifest":               func(tr *Trailer, size uint64) { tr.ManifestLength = 1 << 40 },
		"offsets that overflow":       func(tr *Trailer, size uint64) { tr.ManifestOffset = ^uint64(0) - 10 },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			path := makeRun(t, t.TempDir(), stub, payload, 100)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := ParseTrailer(b[len(b)-TrailerSize:], int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			edit(&tr, uint64(len(b)))
			raw, err := tr.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			copy(b[len(b)-TrailerSize:], raw)
			if err := os.WriteFile(path, b, 0o755); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err = Verify(context.Background(), []string{path}, VerifyOptions{})
			runtime.ReadMemStats(&after)
			var te *TrailerError
			if !errors.As(err, &te) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v; want a one-line *TrailerError", err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > maxAlloc {
				t.Errorf("allocated %d MiB refusing it", alloc>>20)
			}
			t.Log(err)
		})
	}
}
