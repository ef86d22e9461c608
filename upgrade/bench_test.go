package upgrade

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/harborbundle/bundle/builder"
	"github.com/harborbundle/bundle/internal/e2elock"
	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/progress"
)

// BenchmarkImagesLoaded measures the load step (the bundle's images streamed into docker load,
// zstd layers decompressed on the fly, every ID checked) against the floor (docker load -i of a
// plain local docker-archive of the same images) and the manual path of the upgrade guide
// (tar xzf the offline installer, docker load -i harbor.vX.tar.gz). Goals: <= 1.15x the floor,
// <= 0.75x manual. It also reports the peak RSS of a whole upgrader process (.run --dry-run
// verify pass) and the extra disk it needs. Size: BUNDLE_BENCH_SIZE (tiny, medium, large or
// bytes; default medium). Run: go test -run '^$' -bench ImagesLoaded -benchtime 1x ./upgrade
func BenchmarkImagesLoaded(b *testing.B) {
	size, err := fakeharbor.ParseSize(envOr("BUNDLE_BENCH_SIZE", "medium"))
	if err != nil {
		b.Fatal(err)
	}
	e2elock.Lock(b)
	ctx := context.Background()
	dir := b.TempDir()
	t0 := time.Now()
	run, err := buildSizedRun(ctx, dir, size)
	if err != nil {
		b.Fatal(err)
	}
	fb, err := fakeharbor.NewBuilder(ctx, fakeharbor.Options{Size: size, Versions: []string{"v1.10.0"}})
	if err != nil {
		b.Fatal(err)
	}
	floorTar := filepath.Join(dir, "floor.tar")
	if err := writeFileFunc(floorTar, func(f *os.File) error { return fb.DockerArchive("v1.10.0", f) }); err != nil {
		b.Fatal(err)
	}
	offline, err := fb.OfflineInstallerFile("v1.10.0")
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("inputs ready in %s (size %d MiB)", time.Since(t0).Round(time.Second), int64(size)>>20)

	src, _ := openRun(b, run)
	eng := NewDockerEngine(nil)
	m := src.Manifest()
	var refs []string
	for _, img := range m.Images {
		refs = append(refs, img.Ref)
	}
	removeImages := func() {
		exec.Command("docker", append([]string{"image", "rm", "-f"}, refs...)...).Run()
	}
	if ids, _ := eng.ImageIDs(ctx, refs); len(ids) > 0 {
		b.Fatalf("%v already loaded; the benchmark measures loads onto a host without them", ids)
	}
	defer removeImages()

	timeIt := func(name string, f func() error) time.Duration {
		removeImages()
		exec.Command("sync").Run()
		start := time.Now()
		if err := f(); err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		d := time.Since(start)
		b.Logf("%-7s %s", name, d.Round(time.Millisecond))
		return d
	}
	var ours, floor, manual time.Duration
	for i := 0; i < b.N; i++ {
		floor += timeIt("floor", func() error { return dockerLoadFile(floorTar) })
		manual += timeIt("manual", func() error {
			x := filepath.Join(dir, "manual")
			os.RemoveAll(x)
			os.MkdirAll(x, 0o755)
			if out, err := exec.Command("tar", "xzf", offline, "-C", x).CombinedOutput(); err != nil {
				return fmt.Errorf("%v %s", err, out)
			}
			defer os.RemoveAll(x)
			return dockerLoadFile(filepath.Join(x, "harbor", "harbor.v1.10.0.tar.gz"))
		})
		ours += timeIt("bundle", func() error {
			u := &Upgrade{o: Options{Bundle: src, Engine: eng, Progress: progress.Discard}, needed: m.Images, log: newRunLog()}
			return u.load(ctx)
		})
	}
	b.ReportMetric(ours.Seconds()/float64(b.N), "bundle-s")
	b.ReportMetric(floor.Seconds()/float64(b.N), "floor-s")
	b.ReportMetric(manual.Seconds()/float64(b.N), "manual-s")
	b.ReportMetric(float64(ours)/float64(floor), "x-floor")
	b.ReportMetric(float64(ours)/float64(manual), "x-manual")
	rss, err := verifyRSS(run)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(rss)/(1<<20), "verify-peak-MiB")
}

// verifyRSS runs the .run's full verify pass (`check`) and returns its peak RSS.
func verifyRSS(run string) (int64, error) {
	cmd := exec.Command(run, "check", "-q")
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("%v %s", err, out)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return ru.Maxrss << 10, nil
}

func dockerLoadFile(path string) error {
	out, err := exec.Command("docker", "load", "-i", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker load -i %s: %v %s", path, err, out)
	}
	return nil
}

func buildSizedRun(ctx context.Context, dir string, size fakeharbor.Size) (string, error) {
	stub := filepath.Join(dir, "bundle")
	mod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	build := exec.Command("go", "build", "-trimpath", "-o", stub, "./cmd/bundle")
	build.Dir = filepath.Dir(strings.TrimSpace(string(mod)))
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v %s", err, out)
	}
	srv, err := fakeharbor.Start(ctx, fakeharbor.Options{Size: size, Versions: []string{"v1.10.0"}})
	if err != nil {
		return "", err
	}
	defer srv.Close()
	run := filepath.Join(dir, "harbor-upgrade-1.10.run")
	_, err = builder.Build(ctx, builder.Options{Version: "v1.10.0", Output: run, Registry: srv.RegistryAddr,
		InsecureRegistry: true, Installer: srv.InstallerURL("v1.10.0", false), CacheDir: filepath.Join(dir, "cache"),
		Stub: stub, BuilderVersion: "bench"})
	os.RemoveAll(filepath.Join(dir, "cache"))
	return run, err
}

func writeFileFunc(path string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
