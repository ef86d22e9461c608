package payload

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"

	"github.com/klauspost/compress/gzip"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// measurer receives a layer's compressed bytes as they are written to the payload and, on its own
// goroutine, decompresses them to learn the uncompressed size and sha256 (the diff ID). Buffers
// are handed over through a small channel so that decompression overlaps the writing without
// holding more than a few MiB.
type measurer struct {
	full   chan []byte
	free   chan []byte
	result chan measured
}

type measured struct {
	size   int64
	diffID v1.Hash
	err    error
}

const measureBufs, measureBufSize = 4, 1 << 20

func newMeasurer() *measurer {
	m := &measurer{full: make(chan []byte, measureBufs), free: make(chan []byte, measureBufs), result: make(chan measured, 1)}
	for range measureBufs {
		m.free <- make([]byte, measureBufSize)
	}
	go m.run()
	return m
}

// Write copies p into free buffers and queues them for the decompressing goroutine.
func (m *measurer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		b := <-m.free
		k := copy(b[:cap(b)], p)
		m.full <- b[:k]
		p = p[k:]
	}
	return n, nil
}

// finish ends the input and returns the uncompressed size and diff ID.
func (m *measurer) finish() (int64, v1.Hash, error) {
	close(m.full)
	r := <-m.result
	return r.size, r.diffID, r.err
}

func (m *measurer) run() {
	src := &chanReader{m: m}
	size, sum, err := decompressedDigest(src)
	io.Copy(io.Discard, src) // on error, keep draining so that Write never blocks
	m.result <- measured{size: size, diffID: v1.Hash{Algorithm: "sha256", Hex: sum}, err: err}
}

// decompressedDigest decompresses r (gzip, zstd or plain, told by its magic bytes) and returns
// the length and sha256 of the result.
func decompressedDigest(r io.Reader) (int64, string, error) {
	u, closeFn, err := Decompressor(r)
	if err != nil {
		return 0, "", err
	}
	defer closeFn()
	h := sha256.New()
	n, err := io.CopyBuffer(h, u, make([]byte, 1<<20))
	return n, hex.EncodeToString(h.Sum(nil)), err
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Decompressor returns a reader of r's decompressed content (gzip, zstd or none), choosing by
// the magic bytes as docker does: registries label layers loosely, the bytes do not lie. The
// func releases the decoder.
func Decompressor(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		return zr, func() { zr.Close() }, nil
	case bytes.HasPrefix(magic, zstdMagic):
		d, err := newDecoder(br)
		if err != nil {
			return nil, nil, err
		}
		return d, d.Close, nil
	}
	return br, func() {}, nil
}

// chanReader reads the buffers a measurer queued, returning each to the free list once consumed.
type chanReader struct {
	m   *measurer
	cur []byte
	buf []byte
}

func (c *chanReader) Read(p []byte) (int, error) {
	for len(c.cur) == 0 {
		if c.buf != nil {
			c.m.free <- c.buf
			c.buf = nil
		}
		b, ok := <-c.m.full
		if !ok {
			return 0, io.EOF
		}
		c.buf, c.cur = b, b
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}
