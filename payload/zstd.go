package payload

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Level is a zstd compression level.
type Level string

// The zstd levels. LevelMax is klauspost's SpeedBestCompression; "best" is accepted as an alias.
const (
	LevelFastest Level = "fastest"
	LevelDefault Level = "default"
	LevelBetter  Level = "better"
	LevelMax     Level = "max"
)

// normalize maps "" to LevelDefault and "best" to LevelMax and refuses unknown levels.
func (l Level) normalize() (Level, error) {
	switch l {
	case "":
		return LevelDefault, nil
	case "best":
		return LevelMax, nil
	case LevelFastest, LevelDefault, LevelBetter, LevelMax:
		return l, nil
	}
	return "", fmt.Errorf("unknown zstd level %q (want fastest, default, better or max)", string(l))
}

func (l Level) encoderLevel() (zstd.EncoderLevel, error) {
	switch l {
	case LevelFastest:
		return zstd.SpeedFastest, nil
	case LevelDefault:
		return zstd.SpeedDefault, nil
	case LevelBetter:
		return zstd.SpeedBetterCompression, nil
	case LevelMax:
		return zstd.SpeedBestCompression, nil
	}
	return 0, fmt.Errorf("unknown zstd level %q (want fastest, default, better or max)", string(l))
}

// ZstdLayer returns a layer whose compressed form is zstd (media type
// application/vnd.oci.image.layer.v1.tar+zstd) with the same DiffID, compressed into a file in
// dir (default os.TempDir()). A layer already in zstd is returned as it is. The uncompressed
// content is checked against l's DiffID while it is compressed. The file belongs to the caller:
// it lives until dir is removed.
func ZstdLayer(l v1.Layer, level Level, dir string) (v1.Layer, error) {
	mt, err := l.MediaType()
	if err != nil {
		return nil, fmt.Errorf("reading layer media type: %w", err)
	}
	if mt == types.OCILayerZStd {
		return l, nil
	}
	level, err = level.normalize()
	if err != nil {
		return nil, err
	}
	return compressLayer(l, level, dir)
}

// zstdLayer is a layer compressed by compressLayer into a spool file.
type zstdLayer struct {
	path           string
	digest, diffID v1.Hash
	size, usize    int64
}

var _ v1.Layer = (*zstdLayer)(nil)

func (z *zstdLayer) Digest() (v1.Hash, error)                { return z.digest, nil }
func (z *zstdLayer) DiffID() (v1.Hash, error)                { return z.diffID, nil }
func (z *zstdLayer) Size() (int64, error)                    { return z.size, nil }
func (z *zstdLayer) MediaType() (types.MediaType, error)     { return types.OCILayerZStd, nil }
func (z *zstdLayer) Compressed() (io.ReadCloser, error)      { return os.Open(z.path) }
func (z *zstdLayer) UncompressedSize() (int64, error)        { return z.usize, nil }
func (z *zstdLayer) Uncompressed() (io.ReadCloser, error)    { return openZstdFile(z.path) }
func (z *zstdLayer) knownUncompressedSize() (int64, v1.Hash) { return z.usize, z.diffID }

func openZstdFile(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	d, err := newDecoder(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &decoderCloser{d: d, under: f}, nil
}

// newDecoder bounds the decoder's memory: one goroutine and the window we write (8 MiB), well
// below the 128 MiB klauspost would otherwise allow a hostile frame to ask for.
func newDecoder(r io.Reader) (*zstd.Decoder, error) {
	return zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(32<<20))
}

type decoderCloser struct {
	d     *zstd.Decoder
	under io.Closer
}

func (c *decoderCloser) Read(p []byte) (int, error) { return c.d.Read(p) }
func (c *decoderCloser) Close() error {
	c.d.Close()
	return c.under.Close()
}

// compressLayer streams l's uncompressed content through zstd into a temporary file in dir.
func compressLayer(l v1.Layer, level Level, dir string) (_ *zstdLayer, err error) {
	diffID, err := l.DiffID()
	if err != nil {
		return nil, fmt.Errorf("reading layer diff ID: %w", err)
	}
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "zstd-"+diffID.Hex[:12]+"-*")
	if err != nil {
		return nil, fmt.Errorf("compressing layer %s: %w", diffID, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("compressing layer %s: %w", diffID, cerr)
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	z := &zstdLayer{path: f.Name(), diffID: diffID}
	if err := z.fill(l, level, f); err != nil {
		return nil, fmt.Errorf("compressing layer %s: %w", diffID, err)
	}
	return z, nil
}

// fill compresses l into f, recording the compressed digest and size and the uncompressed size.
func (z *zstdLayer) fill(l v1.Layer, level Level, f *os.File) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	bw := bufio.NewWriterSize(f, copyBufferSize)
	compressed := &countingHash{Hash: sha256.New()}
	enc, err := getEncoder(io.MultiWriter(bw, compressed), level)
	if err != nil {
		return err
	}
	defer putEncoder(enc, level)
	uncompressed := &countingHash{Hash: sha256.New()}
	buf := getBuffer()
	defer putBuffer(buf)
	if _, err := io.CopyBuffer(io.MultiWriter(enc, uncompressed), rc, *buf); err != nil {
		enc.Close()
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if got := uncompressed.hex(); got != z.diffID.Hex {
		return fmt.Errorf("uncompressed content has sha256:%s, not its diff ID", got)
	}
	z.digest = v1.Hash{Algorithm: "sha256", Hex: compressed.hex()}
	z.size, z.usize = compressed.n, uncompressed.n
	return nil
}

// countingHash is a hash.Hash that also counts what it was fed.
type countingHash struct {
	hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.Hash.Write(p)
}

func (c *countingHash) hex() string { return hex.EncodeToString(c.Sum(nil)) }
