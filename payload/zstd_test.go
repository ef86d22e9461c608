package payload

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestZstdDeterministic backs the reproducibility promise: for every level, the encoder we
// configure gives the same bytes as a single-goroutine encoder, over many blocks of mixed data,
// so the output cannot depend on scheduling or on the builder's core count.
func TestZstdDeterministic(t *testing.T) {
	data := make([]byte, 3<<20)
	rand.NewChaCha8([32]byte{1}).Read(data[:1<<20])
	fillText(data[1<<20:], rand.New(rand.NewPCG(1, 2)), strings.Fields("harbor core portal registry redis 0 1 /etc"))
	for _, level := range []Level{LevelFastest, LevelDefault, LevelBetter, LevelMax} {
		var ours bytes.Buffer
		enc, err := newEncoder(&ours, level)
		if err != nil {
			t.Fatal(err)
		}
		enc.Write(data)
		enc.Close()
		el, _ := level.encoderLevel()
		var single bytes.Buffer
		ref, _ := zstd.NewWriter(&single, append(level.encoderOptions(el), zstd.WithEncoderConcurrency(1))...)
		ref.Write(data)
		ref.Close()
		if !bytes.Equal(ours.Bytes(), single.Bytes()) {
			t.Errorf("%s: output differs from the single-goroutine encoder's", level)
		}
	}
}

func TestLevels(t *testing.T) {
	for in, want := range map[Level]Level{"": LevelDefault, "best": LevelMax, "fastest": LevelFastest, "better": LevelBetter, "max": LevelMax} {
		if got, err := in.normalize(); err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Level("ultra").normalize(); err == nil {
		t.Error("unknown level accepted")
	}
	w := NewWriter(&bytes.Buffer{}, WriterOptions{Compression: "lz4"})
	if err := w.AddFile("installer/a", 0o644, 0, bytes.NewReader(nil)); err == nil {
		t.Error("unknown compression accepted")
	}
	w = NewWriter(&bytes.Buffer{}, WriterOptions{Compression: "keep", Level: LevelMax})
	if _, err := w.Close(testManifest()); err == nil {
		t.Error("keep with a level accepted")
	}
}
