package payload

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/harborbundle/bundle/progress"
)

// benchPayload is a ~320 MB payload in a temp file, built once per test binary run.
var benchPayload struct {
	once sync.Once
	dir  string
	path string
	sum  Summary
	err  error
}

const benchFileSize = 100 << 20

func TestMain(m *testing.M) {
	if spec := os.Getenv("PAYLOAD_PROBE"); spec != "" {
		if err := runProbe(spec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	if benchPayload.dir != "" {
		os.RemoveAll(benchPayload.dir)
	}
	os.Exit(code)
}

func loadBenchPayload(b *testing.B) (*os.File, Summary) {
	if testing.Short() {
		b.Skip("builds a 320 MB payload; run without -short")
	}
	benchPayload.once.Do(func() {
		benchPayload.dir, benchPayload.err = os.MkdirTemp("", "payload-bench-")
		if benchPayload.err == nil {
			benchPayload.path = filepath.Join(benchPayload.dir, "bench.payload")
			benchPayload.sum, benchPayload.err = buildBenchPayload(b, benchPayload.path)
		}
	})
	if benchPayload.err != nil {
		b.Fatal(benchPayload.err)
	}
	f, err := os.Open(benchPayload.path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f, benchPayload.sum
}

// buildBenchPayload writes three 100 MB pseudo-random installer files and the test images.
func buildBenchPayload(b *testing.B, path string) (Summary, error) {
	f, err := os.Create(path)
	if err != nil {
		return Summary{}, err
	}
	defer f.Close()
	w := NewWriter(f, WriterOptions{Compression: "keep", BuildTime: testBuildTime, SpoolDir: filepath.Dir(path)})
	for i, name := range []string{"installer/a", "installer/b", "installer/c"} {
		src := rand.NewChaCha8([32]byte{byte(i)})
		if err := w.AddFile(name, 0o644, benchFileSize, src); err != nil {
			return Summary{}, err
		}
	}
	for _, im := range testImages(b) {
		if err := w.AddImage(im.ref, im.component, im.img); err != nil {
			return Summary{}, err
		}
	}
	return w.Close(testManifest())
}

func BenchmarkVerify(b *testing.B) {
	f, sum := loadBenchPayload(b)
	r, err := Open(f, sum.Length, sum.ManifestOffset, sum.ManifestLength, sum.ManifestSHA256)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(sum.Length)
	b.ResetTimer()
	cpu := startCPU()
	for range b.N {
		if err := r.Verify(context.Background(), progress.Discard); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b, sum.Length)
}

// BenchmarkSHA256File is the reference for BenchmarkVerify: what sha256sum does to the same file.
func BenchmarkSHA256File(b *testing.B) {
	f, sum := loadBenchPayload(b)
	buf := make([]byte, 1<<20)
	b.SetBytes(sum.Length)
	b.ResetTimer()
	cpu := startCPU()
	for range b.N {
		h := sha256.New()
		if _, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, sum.Length), buf); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b, sum.Length)
}

// cpuClock measures the process's CPU time (user+sys). The machine running the benchmarks is
// shared, so wall-clock MB/s swings with the load; MB per CPU-second is the steadier figure.
type cpuClock struct{ start time.Duration }

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock{start: processCPU()} }

func (c cpuClock) report(b *testing.B, bytesPerOp int64) {
	if used := processCPU() - c.start; used > 0 {
		b.ReportMetric(float64(bytesPerOp)*float64(b.N)/1e6/used.Seconds(), "MB/cpu-s")
	}
}
