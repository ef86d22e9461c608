package builder

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/selfextract"
)

// The benchmarks measure the builder against its peers on the same fake release served by the
// same registry in the same run, and print ratios (goals from DESIGN.md "Numbers"):
//
//	cold keep / crane pull --format oci       <= 1.2
//	cold default (zstd) / crane                <= 3
//	warm / cold default                        <= 0.2, 0 blobs fetched
//	payload size default / offline installer   <= 0.92
//	payload size max / offline installer       <= 0.83
//
// The release size is BUNDLE_BENCH_SIZE (tiny, medium, large or bytes; default medium, about
// 250 MB). Run: go test -run '^$' -bench . -benchtime 1x ./builder/

var (
	benchOnce sync.Once
	benchSrv  *fakeharbor.Server
	benchErr  error
)

func benchHarbor(b *testing.B) *fakeharbor.Server {
	b.Helper()
	benchOnce.Do(func() {
		size := fakeharbor.SizeMedium
		if s := os.Getenv("BUNDLE_BENCH_SIZE"); s != "" {
			if size, benchErr = fakeharbor.ParseSize(s); benchErr != nil {
				return
			}
		}
		benchSrv, benchErr = fakeharbor.Start(context.Background(), fakeharbor.Options{Size: size, Versions: []string{"v1.10.0"}})
	})
	if benchErr != nil {
		b.Fatalf("starting the fake harbor: %v", benchErr)
	}
	return benchSrv
}

// cranePull is `crane pull --format oci` of every image of the release into a fresh layout.
func cranePull(b *testing.B, srv *fakeharbor.Server) time.Duration {
	b.Helper()
	refs, err := srv.Release("v1.10.0")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	began := time.Now()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range refs {
		img, err := crane.Pull(srv.Ref(r.Ref), crane.WithAuthFromKeychain(anonymous))
		if err != nil {
			b.Fatal(err)
		}
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": r.Ref})); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(began)
}

func benchBuild(b *testing.B, srv *fakeharbor.Server, proxy *registryProxy, cache string, mod func(*Options)) (*Result, time.Duration) {
	b.Helper()
	opts := testOptions(b, srv, proxy, cache)
	if mod != nil {
		mod(&opts)
	}
	began := time.Now()
	res, err := Build(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	return res, time.Since(began)
}

// payloadSize is the .run without its stub and trailer: what the release itself costs.
func payloadSize(b *testing.B, res *Result) int64 {
	bundle, err := selfextract.Open(res.File)
	if err != nil {
		b.Fatal(err)
	}
	defer bundle.Close()
	return int64(bundle.Trailer.PayloadLength)
}

func BenchmarkBuildVsPeers(b *testing.B) {
	srv := benchHarbor(b)
	proxy := startProxy(b, "http://"+srv.RegistryAddr)
	offline, err := srv.OfflineInstallerFile("v1.10.0")
	if err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(offline)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		cranePull(b, srv) // warm the registry's files into the page cache, untimed
		craneTime := cranePull(b, srv)
		_, keepTime := benchBuild(b, srv, proxy, b.TempDir(), func(o *Options) { o.Compression = "keep" })
		cache := b.TempDir()
		def, defTime := benchBuild(b, srv, proxy, cache, nil)
		proxy.Snapshot()
		warm, warmTime := benchBuild(b, srv, proxy, cache, nil)
		warmBlobs, _ := proxy.Snapshot()
		maxRes, maxTime := benchBuild(b, srv, proxy, cache, func(o *Options) { o.Level = "max" })

		ratios := []struct {
			name, unit string
			v          float64
		}{
			{"cold keep / crane", "x-keep/crane", keepTime.Seconds() / craneTime.Seconds()},
			{"cold default / crane", "x-default/crane", defTime.Seconds() / craneTime.Seconds()},
			{"warm / cold default", "x-warm/cold", warmTime.Seconds() / defTime.Seconds()},
			{"size default / offline .tgz", "x-size-default", float64(payloadSize(b, def)) / float64(st.Size())},
			{"size max / offline .tgz", "x-size-max", float64(payloadSize(b, maxRes)) / float64(st.Size())},
		}
		var tbl strings.Builder
		fmt.Fprintf(&tbl, "\n%-30s %10s\n", "measure", "value")
		fmt.Fprintf(&tbl, "%-30s %9.2fs\n", "crane pull --format oci", craneTime.Seconds())
		fmt.Fprintf(&tbl, "%-30s %9.2fs\n", "cold build keep", keepTime.Seconds())
		fmt.Fprintf(&tbl, "%-30s %9.2fs\n", "cold build default", defTime.Seconds())
		fmt.Fprintf(&tbl, "%-30s %9.2fs (%d blobs fetched, %d at the registry)\n", "warm build default", warmTime.Seconds(), warm.Cache.BlobsFetched, len(warmBlobs))
		fmt.Fprintf(&tbl, "%-30s %9.2fs (layers cached, recompression only)\n", "build max", maxTime.Seconds())
		fmt.Fprintf(&tbl, "%-30s %9.1f MiB\n", "offline installer .tgz", float64(st.Size())/(1<<20))
		fmt.Fprintf(&tbl, "%-30s %9.1f MiB\n", "payload default", float64(payloadSize(b, def))/(1<<20))
		fmt.Fprintf(&tbl, "%-30s %9.1f MiB\n", "payload max", float64(payloadSize(b, maxRes))/(1<<20))
		for _, r := range ratios {
			fmt.Fprintf(&tbl, "%-30s %9.3fx\n", r.name, r.v)
			b.ReportMetric(r.v, r.unit)
		}
		b.ReportMetric(float64(len(warmBlobs)), "warm-blobs")
		b.Log(tbl.String())
	}
}

// BenchmarkJobs times cold keep builds with several --jobs through a proxy that adds a
// round-trip delay to every request and holds each download to 25 MB/s, as a remote registry
// does: what the default is chosen by.
func BenchmarkJobs(b *testing.B) {
	srv := benchHarbor(b)
	proxy := startProxy(b, "http://"+srv.RegistryAddr)
	proxy.delay, proxy.rate = 30*time.Millisecond, 25e6
	for _, jobs := range []int{1, 2, 4, 8, 16} {
		b.Run(fmt.Sprintf("jobs=%d", jobs), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				_, d := benchBuild(b, srv, proxy, b.TempDir(), func(o *Options) { o.Compression, o.Jobs = "keep", jobs })
				b.ReportMetric(d.Seconds(), "s/build")
			}
		})
	}
}

// BenchmarkLevels recompresses the cached release at each zstd level: time and payload size
// relative to the offline installer; what the default level is chosen by.
func BenchmarkLevels(b *testing.B) {
	srv := benchHarbor(b)
	proxy := startProxy(b, "http://"+srv.RegistryAddr)
	offline, err := srv.OfflineInstallerFile("v1.10.0")
	if err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(offline)
	pulled := b.TempDir()
	benchBuild(b, srv, proxy, pulled, func(o *Options) { o.Compression = "keep" })
	for _, level := range Levels {
		b.Run(level, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				cache := b.TempDir()
				copyBlobs(b, pulled, cache)
				res, d := benchBuild(b, srv, proxy, cache, func(o *Options) { o.Level = level })
				b.ReportMetric(d.Seconds(), "s/build")
				b.ReportMetric(float64(payloadSize(b, res))/float64(st.Size()), "x-size/offline")
			}
		})
	}
}

// copyBlobs seeds a cache with the pulled blobs (hard links) so only recompression is timed.
func copyBlobs(b *testing.B, from, to string) {
	b.Helper()
	dst := filepath.Join(to, "blobs", "sha256")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		b.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(from, "blobs", "sha256"))
	for _, e := range entries {
		if err := os.Link(filepath.Join(from, "blobs", "sha256", e.Name()), filepath.Join(dst, e.Name())); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkColdKeep is one cold --compression keep build, for profiling.
func BenchmarkColdKeep(b *testing.B) {
	srv := benchHarbor(b)
	proxy := startProxy(b, "http://"+srv.RegistryAddr)
	for i := 0; i < b.N; i++ {
		_, d := benchBuild(b, srv, proxy, b.TempDir(), func(o *Options) { o.Compression = "keep" })
		b.ReportMetric(d.Seconds(), "s/build")
	}
}

// BenchmarkColdDefault is one cold build with the default compression, for profiling.
func BenchmarkColdDefault(b *testing.B) {
	srv := benchHarbor(b)
	proxy := startProxy(b, "http://"+srv.RegistryAddr)
	for i := 0; i < b.N; i++ {
		_, d := benchBuild(b, srv, proxy, b.TempDir(), nil)
		b.ReportMetric(d.Seconds(), "s/build")
	}
}

// BenchmarkWarmDefault is a rebuild from a warm cache with the default compression, for
// profiling.
func BenchmarkWarmDefault(b *testing.B) {
	srv := benchHarbor(b)
	proxy := startProxy(b, "http://"+srv.RegistryAddr)
	cache := b.TempDir()
	benchBuild(b, srv, proxy, cache, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, d := benchBuild(b, srv, proxy, cache, nil)
		b.ReportMetric(d.Seconds(), "s/build")
	}
}
