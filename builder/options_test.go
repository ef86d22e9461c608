package builder

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/progress"
	"github.com/harborbundle/bundle/selfextract"
)

// TestInstallerSourcesAndSplit: the default installer URL on a mirror (--installer-base), an
// offline installer given as a file (its image tarball is skipped), and --split.
func TestInstallerSourcesAndSplit(t *testing.T) {
	srv := fakeHarbor(t)
	proxy := startProxy(t, "http://"+srv.RegistryAddr)
	cache := t.TempDir()

	t.Run("installer base", func(t *testing.T) {
		opts := testOptions(t, srv, proxy, cache)
		opts.Installer, opts.InstallerBase = "", srv.InstallersURL+"/"
		opts.Components = []string{"none"}
		res, err := Build(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		want := srv.InstallersURL + "/goharbor/harbor/releases/download/v1.10.0/harbor-online-installer-v1.10.0.tgz"
		if res.Installer.Source != want {
			t.Errorf("installer source %s, want %s", res.Installer.Source, want)
		}
		if strings.Join(res.Components, ",") != "core" || len(res.Images) != 11 {
			t.Errorf("components none: %v, %d images (want core, 9 + prepare + migrator)", res.Components, len(res.Images))
		}
	})

	t.Run("offline installer file and split", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "harbor-offline-installer-v1.10.0.tgz")
		fetchURL(t, srv.InstallerURL("v1.10.0", true), file)
		opts := testOptions(t, srv, proxy, cache)
		opts.Installer, opts.Split = file, "256K"
		res, err := Build(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.Installer.Source != filepath.Base(file) || res.Installer.SHA256 != fileSHA(t, file) {
			t.Errorf("installer %+v", res.Installer)
		}
		if _, err := os.Stat(res.File); err == nil || len(res.Parts) < 2 {
			t.Fatalf("split: whole file still there (%v) or %d parts", err, len(res.Parts))
		}
		var paths []string
		for _, p := range res.Parts {
			paths = append(paths, p.Path)
			if p.Size > 256<<10 {
				t.Errorf("part %s is %d bytes", p.Path, p.Size)
			}
		}
		all, err := selfextract.CheckParts(paths)
		if err != nil || len(all) != len(paths) {
			t.Fatalf("checking parts: %v (%v)", err, all)
		}
		b, err := selfextract.OpenParts(paths)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		pr, err := b.OpenPayload()
		if err != nil {
			t.Fatal(err)
		}
		if err := pr.Verify(context.Background(), progress.Discard); err != nil {
			t.Fatal(err)
		}
		checkInstallerEntries(t, pr.Manifest().Entries)
	})
}

func fetchURL(t *testing.T, url, path string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %v %v", url, err, resp)
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		t.Fatal(err)
	}
}

// recorder is a progress.Reporter that keeps what it was told.
type recorder struct {
	mu                 sync.Mutex
	total, done        map[string]int64
	finished, failures map[string]int
}

func newRecorder() *recorder {
	return &recorder{total: map[string]int64{}, done: map[string]int64{}, finished: map[string]int{}, failures: map[string]int{}}
}

func (r *recorder) Start(task string, total int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total[task] = total
}

func (r *recorder) Add(task string, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done[task] += n
}

func (r *recorder) Done(task string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finished[task]++
	if err != nil {
		r.failures[task]++
	}
}

// TestProgress: one task per image for the pull and one for the write, each counting exactly
// its total, cold and warm.
func TestProgress(t *testing.T) {
	srv := fakeHarbor(t)
	proxy := startProxy(t, "http://"+srv.RegistryAddr)
	cache := t.TempDir()
	for _, run := range []string{"cold", "warm"} {
		rec := newRecorder()
		opts := testOptions(t, srv, proxy, cache)
		opts.Progress = rec
		res, err := Build(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, img := range res.Images {
			for _, task := range []string{img.Ref, "write " + img.Ref} {
				if rec.total[task] <= 0 || rec.done[task] != rec.total[task] || rec.finished[task] != 1 || rec.failures[task] != 0 {
					t.Errorf("%s: task %q total %d, done %d, finished %d times, %d failures", run, task, rec.total[task], rec.done[task], rec.finished[task], rec.failures[task])
				}
			}
		}
		if len(rec.total) != 2*len(res.Images) {
			t.Errorf("%s: %d tasks for %d images", run, len(rec.total), len(res.Images))
		}
	}
}

func TestBuildTime(t *testing.T) {
	now := func() time.Time { return time.Date(2024, 5, 6, 7, 8, 9, 999, time.Local) }
	if got, _ := buildTime("", now); !got.Equal(time.Date(2024, 5, 6, 7, 8, 9, 0, time.Local)) || got.Location() != time.UTC {
		t.Errorf("no SOURCE_DATE_EPOCH: %v", got)
	}
	if got, _ := buildTime("1600000000", now); !got.Equal(time.Unix(1600000000, 0)) {
		t.Errorf("SOURCE_DATE_EPOCH: %v", got)
	}
	for _, bad := range []string{"x", "-1", "1.5"} {
		if _, err := buildTime(bad, now); err == nil {
			t.Errorf("SOURCE_DATE_EPOCH=%s accepted", bad)
		}
	}
}

func TestReferencesAndOutputName(t *testing.T) {
	img := harbor.Image{Repository: "goharbor/harbor-core", Tag: "v1.10.0", Component: "core"}
	for registry, want := range map[string]string{
		"":                            "index.docker.io/goharbor/harbor-core:v1.10.0",
		"mirror.example.com:5000":     "mirror.example.com:5000/goharbor/harbor-core:v1.10.0",
		"https://mirror.example.com/": "mirror.example.com/goharbor/harbor-core:v1.10.0",
		"mirror.example.com/hub":      "mirror.example.com/hub/goharbor/harbor-core:v1.10.0",
	} {
		s, err := resolveOptions(Options{Version: "v1.10.0", Registry: registry, CacheDir: "x"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := newRegistryClient(s)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := c.reference(img)
		if err != nil || ref.Name() != want {
			t.Errorf("registry %q: %v (%v), want %s", registry, ref, err, want)
		}
	}
	s, _ := resolveOptions(Options{Version: "v1.10.0", Registry: "http://127.0.0.1:5000", CacheDir: "x"})
	if !s.InsecureRegistry {
		t.Error("http:// registry not insecure")
	}

	dir := t.TempDir()
	for output, want := range map[string]string{dir: filepath.Join(dir, "harbor-upgrade-1.10.run"), filepath.Join(dir, "x.run"): filepath.Join(dir, "x.run")} {
		s, _ := resolveOptions(Options{Version: "1.10.0", Output: output, CacheDir: "x"})
		p, err := makePlan(s)
		if err != nil || p.output != want {
			t.Errorf("-o %s: %v (%v), want %s", output, p.output, err, want)
		}
	}
}
