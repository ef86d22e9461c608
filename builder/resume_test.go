package builder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperOptions is what the parent test passes to a build run in a child process.
type helperOptions struct {
	Registry, Installer, CacheDir, Stub, Output string
}

func TestMain(m *testing.M) {
	if arg := os.Getenv("BUILDER_HELPER"); arg != "" {
		os.Exit(helperBuild(arg))
	}
	if arg := os.Getenv(measureHelperEnv); arg != "" {
		os.Exit(measureRSS(arg))
	}
	os.Exit(m.Run())
}

// helperBuild is the child process of TestResumeAfterKill: the test binary run again with
// BUILDER_HELPER set builds as `bundle build` would, until it is killed.
func helperBuild(arg string) int {
	var h helperOptions
	if err := json.Unmarshal([]byte(arg), &h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	_, err := Build(context.Background(), Options{
		Version: "v1.10.0", Registry: h.Registry, Installer: h.Installer, CacheDir: h.CacheDir,
		Stub: h.Stub, Output: h.Output, BuilderVersion: "test", Keychain: anonymous, RetryDelay: 10 * time.Millisecond,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestResumeAfterKill kills a build with SIGKILL in the middle of its downloads, reruns it on
// the same cache, and checks that the rerun fetched exactly the blobs the first run had not
// finished, that the killed run left nothing under the output's name, and that the result is
// byte-identical to an uninterrupted build (SOURCE_DATE_EPOCH set).
func TestResumeAfterKill(t *testing.T) {
	srv := fakeHarbor(t)
	proxy := startProxy(t, "http://"+srv.RegistryAddr)
	t.Setenv("SOURCE_DATE_EPOCH", "1600000000")
	cache, outDir := t.TempDir(), t.TempDir()
	stub := testStub(t)
	installer := srv.InstallerURL("v1.10.0", false)

	// The uninterrupted reference, on its own cache; it also counts the blobs.
	ref := testOptions(t, srv, proxy, t.TempDir())
	ref.Stub, ref.BuildTime = stub, time.Time{}
	want, err := Build(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := proxy.Snapshot()

	const before = 10
	proxy.HoldAfter(before)
	arg, _ := json.Marshal(helperOptions{Registry: proxy.Addr, Installer: installer, CacheDir: cache, Stub: stub, Output: filepath.Join(outDir, "killed.run")})
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "BUILDER_HELPER="+string(arg))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for proxy.Held() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	// Kill once every download the registry finished has landed in the cache: the build can go
	// no further (the rest is held), and a blob killed between its last byte and its rename
	// would rightly be fetched again, which is not what this test is about.
	for d := range proxy.Completed() {
		path := filepath.Join(cache, "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
		for _, err := os.Stat(path); err != nil && time.Now().Before(deadline); _, err = os.Stat(path) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if proxy.Held() == 0 {
		t.Fatalf("the build never reached the held downloads: %s", stderr.String())
	}
	proxy.Release()
	proxy.Snapshot() // the rerun's requests are counted from here
	// What the killed run "had" is what reached its cache: a download the registry finished in
	// the instant between the wait above and the kill may not have been renamed into place, and
	// fetching that one again is right.
	done := map[string]bool{}
	for d := range all {
		if _, err := os.Stat(filepath.Join(cache, "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))); err == nil {
			done[d] = true
		}
	}
	if len(done) < before || len(done) >= len(all) {
		t.Fatalf("killed run finished %d of %d blobs, want at least %d and not all", len(done), len(all), before)
	}
	if _, err := os.Stat(filepath.Join(outDir, "killed.run")); err == nil {
		t.Fatal("the killed build left a file under the output's name")
	}

	rerun := ref
	rerun.CacheDir, rerun.Output = cache, filepath.Join(outDir, "resumed.run")
	got, err := Build(context.Background(), rerun)
	if err != nil {
		t.Fatal(err)
	}
	started, _ := proxy.Snapshot()
	for d := range done {
		if started[d] > 0 {
			t.Errorf("rerun fetched %s again, though the killed run had it", d)
		}
	}
	for d := range all {
		if _, ok := done[d]; !ok && started[d] != 1 {
			t.Errorf("rerun fetched missing blob %s %d times", d, started[d])
		}
	}
	if len(started)+len(done) != len(all) {
		t.Errorf("rerun fetched %d blobs, killed run %d, the release has %d", len(started), len(done), len(all))
	}
	if a, b := fileSHA(t, got.File), fileSHA(t, want.File); a != b || got.SHA256 != want.SHA256 {
		t.Errorf("resumed build %s differs from the uninterrupted one %s", a, b)
	}
	if !got.BuildTime.Equal(time.Unix(1600000000, 0)) {
		t.Errorf("build time %v, want SOURCE_DATE_EPOCH", got.BuildTime)
	}
}

// TestCancel: an interrupted build (Ctrl-C) stops promptly, removes its partial output and its
// temp files, and reports context.Canceled (exit status 130).
func TestCancel(t *testing.T) {
	srv := fakeHarbor(t)
	proxy := startProxy(t, "http://"+srv.RegistryAddr)
	cache := t.TempDir()
	opts := testOptions(t, srv, proxy, cache)
	proxy.HoldAfter(5)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for proxy.Held() == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	_, err := Build(ctx, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if left := listTree(t, filepath.Dir(opts.Output)); len(left) != 1 {
		t.Errorf("output directory after cancel: %v", left)
	}
	if tmp, _ := os.ReadDir(filepath.Join(cache, "tmp")); len(tmp) != 0 {
		t.Errorf("cache temp dir after cancel: %v", tmp)
	}
}
