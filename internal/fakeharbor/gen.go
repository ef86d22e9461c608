package fakeharbor

import (
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"strconv"
)

// contentKind is one kind of file content found in real images. The mix matters to the
// benchmarks: compressors (gzip in docker save, zstd in bundle) score very differently on each.
type contentKind int

const (
	kindText       contentKind = iota // source, docs, config: words and lines (gzip ~3x)
	kindLog                           // log-like lines with timestamps and counters (~6.7x)
	kindBinary                        // machine-code-like bytes: skewed values, repeats (~3x)
	kindCompressed                    // already compressed data (.gz, .jar, .png): 1x
	kindSparse                        // database pages: mostly zeros with small records (~70x)
)

// kindShares is the share of each kind in generated content, in percent. Together they give
// about 2.3x with gzip -6 (measured), in the range of real container images.
var kindShares = [...]struct {
	kind    contentKind
	percent int
}{{kindText, 30}, {kindLog, 12}, {kindBinary, 26}, {kindCompressed, 22}, {kindSparse, 10}}

// generator produces deterministic content from a seed; a fast non-cryptographic stream is
// enough (ChaCha8 from math/rand/v2 runs at several GB/s).
type generator struct {
	src   *rand.ChaCha8
	rng   *rand.Rand
	words [][]byte
	skew  [256]byte
	clock int64
	seq   int64
}

func newGenerator(seed string) *generator {
	s := sha256.Sum256([]byte("fakeharbor content v1\x00" + seed))
	g := &generator{src: rand.NewChaCha8(s)}
	g.rng = rand.New(g.src)
	g.words = make([][]byte, 4096)
	const letters = "etaoinshrdlcumwfgypbvkjxqz_"
	for i := range g.words {
		n := 2 + g.rng.IntN(4) + g.rng.IntN(6)
		w := make([]byte, n)
		for j := range w {
			// Squaring skews towards the frequent letters at the front.
			f := g.rng.Float64()
			w[j] = letters[int(f*f*float64(len(letters)))]
		}
		g.words[i] = w
	}
	// Machine code is dominated by a few byte values (0x00, 0xff, opcodes like 0x48, 0x8b).
	common := []byte{0x00, 0x00, 0x00, 0x00, 0xff, 0x48, 0x8b, 0x89, 0xe8, 0x0f, 0x24, 0x44, 0x01, 0x74, 0x85, 0xc0}
	for i := range g.skew {
		if i < 128 {
			g.skew[i] = common[i%len(common)]
		} else {
			g.skew[i] = byte(g.rng.IntN(256))
		}
	}
	g.clock = 1576226000 // 2019-12-13, around Harbor 1.10.0
	return g
}

// write writes exactly n bytes of the given kind to w.
func (g *generator) write(w io.Writer, kind contentKind, n int64) error {
	buf := make([]byte, 0, 64<<10)
	for n > 0 {
		buf = g.fill(buf[:0], kind)
		if int64(len(buf)) > n {
			buf = buf[:n]
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		n -= int64(len(buf))
	}
	return nil
}

// fill appends about one buffer's worth (cap(buf)) of content.
func (g *generator) fill(buf []byte, kind contentKind) []byte {
	limit := cap(buf) - 256
	switch kind {
	case kindText:
		for len(buf) < limit {
			buf = g.textLine(buf)
		}
	case kindLog:
		for len(buf) < limit {
			buf = g.logLine(buf)
		}
	case kindBinary:
		buf = g.binary(buf, cap(buf))
	case kindCompressed:
		buf = buf[:cap(buf)]
		g.src.Read(buf)
	case kindSparse:
		buf = buf[:cap(buf)]
		clear(buf)
		for off := 0; off+64 <= len(buf); off += 4096 {
			g.src.Read(buf[off : off+24+g.rng.IntN(40)])
		}
	}
	return buf
}

// word picks a word with a Zipf-like skew: a few words are very common, as in any text.
func (g *generator) word() []byte {
	r := g.rng.Uint64()
	if r&3 != 0 {
		return g.words[(r>>2)%64]
	}
	return g.words[(r>>2)%uint64(len(g.words))]
}

func (g *generator) textLine(buf []byte) []byte {
	indent := g.rng.IntN(4) * 4
	for range indent {
		buf = append(buf, ' ')
	}
	n := 3 + g.rng.IntN(10)
	for i := range n {
		if i > 0 {
			buf = append(buf, ' ')
		}
		buf = append(buf, g.word()...)
	}
	if g.rng.IntN(3) == 0 {
		buf = append(buf, " = "...)
		buf = strconv.AppendInt(buf, int64(g.rng.IntN(100000)), 10)
	}
	return append(buf, '\n')
}

var logLevels = []string{"INFO", "INFO", "INFO", "DEBUG", "WARNING", "ERROR"}

func (g *generator) logLine(buf []byte) []byte {
	g.clock += int64(g.rng.IntN(2))
	g.seq++
	buf = strconv.AppendInt(buf, g.clock, 10)
	buf = append(buf, " ["...)
	buf = append(buf, logLevels[g.rng.IntN(len(logLevels))]...)
	buf = append(buf, "] [/core/"...)
	buf = append(buf, g.words[g.rng.IntN(16)]...)
	buf = append(buf, ".go:"...)
	buf = strconv.AppendInt(buf, int64(20+g.rng.IntN(40)*10), 10)
	buf = append(buf, "]: "...)
	buf = append(buf, g.words[g.rng.IntN(24)]...)
	buf = append(buf, ' ')
	buf = append(buf, g.words[g.rng.IntN(24)]...)
	buf = append(buf, " repo=library/"...)
	buf = append(buf, g.words[g.rng.IntN(20)]...)
	buf = append(buf, " status="...)
	buf = strconv.AppendInt(buf, int64(200+g.rng.IntN(4)*100), 10)
	buf = append(buf, " request_id="...)
	buf = strconv.AppendInt(buf, g.seq, 10)
	return append(buf, '\n')
}

// binary appends skewed bytes with frequent back-references, mostly short-range as in
// compiled code, a few farther back.
func (g *generator) binary(buf []byte, size int) []byte {
	var r [8]byte
	for len(buf) < size-64 {
		if len(buf) > 4096 && g.rng.IntN(8) < 5 {
			n := 6 + g.rng.IntN(40)
			reach := 4000
			if g.rng.IntN(10) == 0 {
				reach = len(buf) - n - 1
			}
			from := len(buf) - n - 1 - g.rng.IntN(reach-n)
			buf = append(buf, buf[from:from+n]...)
			continue
		}
		for range 2 {
			g.src.Read(r[:])
			for _, b := range r {
				buf = append(buf, g.skew[b])
			}
		}
	}
	return buf
}
