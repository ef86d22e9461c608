package payload

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// writeMixedLayer writes a gzip layer of about size uncompressed bytes to path: files that
// alternate between random bytes (like compressed or binary content) and text-like repetitive
// content, as real image layers mix them. Deterministic for a seed.
func writeMixedLayer(path string, seed uint64, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	zw, _ := gzip.NewWriterLevel(bw, gzip.DefaultCompression)
	tw := tar.NewWriter(zw)
	rng := rand.New(rand.NewPCG(seed, seed))
	words := strings.Fields("harbor registry core portal jobservice redis postgres notary clair chartmuseum nginx photon config log error info debug true false 0 1 2 3 /usr/lib /etc/ssl")
	buf := make([]byte, 4<<20)
	for i := 0; int64(i)*int64(len(buf)) < size; i++ {
		if i%3 == 0 {
			rand.NewChaCha8([32]byte{byte(seed), byte(i)}).Read(buf)
		} else {
			fillText(buf, rng, words)
		}
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("usr/share/f%04d", i), Mode: 0o644, Size: int64(len(buf)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		tw.Write(buf)
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

func fillText(buf []byte, rng *rand.Rand, words []string) {
	for n := 0; n < len(buf); {
		w := words[rng.IntN(len(words))]
		n += copy(buf[n:], w)
		if n < len(buf) {
			buf[n] = " \n"[rng.IntN(2)]
			n++
		}
	}
}

// mixedImage is an image of three mixed layers of layerSize each, stored as gzip files in dir.
func mixedImage(b *testing.B, dir string, layerSize int64) (v1.Image, int64) {
	var layers []v1.Layer
	var gz int64
	for i := range 3 {
		p := filepath.Join(dir, fmt.Sprintf("layer%d.tar.gz", i))
		if err := writeMixedLayer(p, uint64(i+1), layerSize); err != nil {
			b.Fatal(err)
		}
		l, err := tarball.LayerFromFile(p)
		if err != nil {
			b.Fatal(err)
		}
		size, _ := l.Size()
		gz += size
		layers = append(layers, l)
	}
	return craftedImage(b, layers...), gz
}

// BenchmarkWrite measures the writer storing gzip layers as they are (keep: the cost is hashing
// and measuring the uncompressed size on a second goroutine) and recompressing them to zstd at
// each level: MB/s of uncompressed content, and the payload's size relative to the gzip layers.
func BenchmarkWrite(b *testing.B) {
	if testing.Short() {
		b.Skip("makes 300 MB of layers; run without -short")
	}
	dir := b.TempDir()
	img, gz := mixedImage(b, dir, 100<<20)
	for _, level := range []Level{"", LevelFastest, LevelDefault, LevelBetter, LevelMax} {
		opts := WriterOptions{Compression: "zstd", Level: level, SpoolDir: dir}
		if level == "" {
			opts.Compression, level = "keep", "keep"
		}
		b.Run(string(level), func(b *testing.B) {
			var size int64
			for range b.N {
				sum := writeToFile(b, filepath.Join(dir, "p"), opts, img)
				size = sum.Length
				b.SetBytes(sum.Manifest.Images[0].UncompressedSize)
			}
			b.ReportMetric(float64(size)/float64(gz), "x-gzip-size")
		})
	}
}

// BenchmarkDockerArchive measures the docker-archive stream of a 300 MB image, from a zstd
// payload (layers decompressed on the way) and a keep one (gzip passed through); MB/s counts
// the layers' uncompressed bytes.
func BenchmarkDockerArchive(b *testing.B) {
	if testing.Short() {
		b.Skip("makes 300 MB of layers; run without -short")
	}
	dir := b.TempDir()
	img, _ := mixedImage(b, dir, 100<<20)
	for _, compression := range []string{"zstd", "keep"} {
		path := filepath.Join(dir, compression)
		sum := writeToFile(b, path, WriterOptions{Compression: compression, SpoolDir: dir}, img)
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		r, err := Open(f, sum.Length, sum.ManifestOffset, sum.ManifestLength, sum.ManifestSHA256)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(compression, func(b *testing.B) {
			b.SetBytes(sum.Manifest.Images[0].UncompressedSize)
			for range b.N {
				if err := r.DockerArchive(context.Background(), io.Discard, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func writeToFile(b *testing.B, path string, opts WriterOptions, img v1.Image) Summary {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := NewWriter(f, opts)
	if err := w.AddImage("bench/mixed:1", "core", img); err != nil {
		b.Fatal(err)
	}
	sum, err := w.Close(testManifest())
	if err != nil {
		b.Fatal(err)
	}
	return sum
}

// BenchmarkPeakRSS runs Verify, Extract and DockerArchive on a ~1 GB zstd payload, each in a
// fresh process (this test binary, re-executed), and reports each one's peak RSS: the design
// holds the reader to 64 MiB whatever the payload's size.
func BenchmarkPeakRSS(b *testing.B) {
	if testing.Short() {
		b.Skip("makes a 1 GB payload; run without -short")
	}
	dir := b.TempDir()
	img, _ := mixedImage(b, dir, 330<<20)
	path := filepath.Join(dir, "p")
	sum := writeToFile(b, path, WriterOptions{Compression: "zstd", SpoolDir: dir}, img)
	for range b.N {
		for _, op := range []string{"verify", "extract", "docker"} {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "PAYLOAD_PROBE="+strings.Join([]string{op, path, filepath.Join(dir, "x-"+op),
				strconv.FormatInt(sum.Length, 10), strconv.FormatInt(sum.ManifestOffset, 10),
				strconv.FormatInt(sum.ManifestLength, 10), hex.EncodeToString(sum.ManifestSHA256[:])}, ","))
			out, err := cmd.CombinedOutput()
			if err != nil {
				b.Fatalf("%s probe: %v: %s", op, err, out)
			}
			kib, _ := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
			b.ReportMetric(kib/1024, op+"-MiB")
			os.RemoveAll(filepath.Join(dir, "x-"+op))
		}
	}
}

// runProbe is the child side of BenchmarkPeakRSS; it prints its peak RSS in KiB.
func runProbe(spec string) error {
	p := strings.Split(spec, ",")
	f, err := os.Open(p[1])
	if err != nil {
		return err
	}
	n := func(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }
	var sha [32]byte
	hex.Decode(sha[:], []byte(p[6]))
	r, err := Open(f, n(p[3]), n(p[4]), n(p[5]), sha)
	if err != nil {
		return err
	}
	ctx := context.Background()
	switch p[0] {
	case "verify":
		err = r.Verify(ctx, nil)
	case "extract":
		err = r.Extract(ctx, p[2], nil)
	case "docker":
		err = r.DockerArchive(ctx, io.Discard, nil)
	}
	if err != nil {
		return err
	}
	// VmHWM, not getrusage's ru_maxrss: the latter survives exec and so includes the parent's.
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Println(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return nil
}
