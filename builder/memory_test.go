package builder

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/harborbundle/bundle/internal/fakeharbor"
)

// buildMemoryGoal is the peak RSS `bundle build` must stay under (DESIGN.md "Numbers").
const buildMemoryGoal = 64 << 20

// TestBuildMemory builds a 256 MiB fake release at --level max (the level with the largest
// encoder) with the real bundle binary against the fake's registry, and fails if the process
// peaked above 64 MiB of resident memory. The peak is the child's rusage ru_maxrss from wait4,
// the number /usr/bin/time -f %M prints, taken the way time takes it (see peakRSS). Nothing in
// the environment tunes the Go runtime: the bound must come from the build's design.
func TestBuildMemory(t *testing.T) {
	bin := bundleCommand(t)
	srv, err := fakeharbor.Start(context.Background(), fakeharbor.Options{Size: 256 << 20, Versions: []string{"v1.10.0"}})
	if err != nil {
		t.Fatalf("starting the 256 MiB fake harbor: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	out := filepath.Join(dir, "harbor-upgrade-1.10.run")
	args := []string{bin, "build", "v1.10.0", "--registry", srv.RegistryAddr, "--insecure-registry",
		"--installer", srv.InstallerURL("v1.10.0", false), "--cache", filepath.Join(dir, "cache"),
		"-o", out, "--quiet", "--level", "max"}
	began := time.Now()
	peak := peakRSS(t, args, append(untunedEnv(), "DOCKER_CONFIG="+t.TempDir()))
	took := time.Since(began)
	t.Logf("bundle build --level max of a 256 MiB release: peak RSS %.1f MiB, %.1fs", float64(peak)/(1<<20), took.Seconds())
	pr := openBundle(t, out)
	if c := pr.Manifest().Compression; c.Algorithm != "zstd" || c.Level != "max" {
		t.Fatalf("bundle says compression %+v, want zstd max", c)
	}
	if peak > buildMemoryGoal {
		t.Errorf("bundle build --level max peaked at %.1f MiB of RSS, above the 64 MiB goal", float64(peak)/(1<<20))
	}
}

// measureHelperEnv makes the test binary (TestMain) run measureRSS instead of the tests.
const measureHelperEnv = "BUILDER_MEASURE_RSS"

// peakRSS runs args with env and returns its peak RSS in bytes, failing the test if it fails.
// It cannot start the command itself: Go starts a child by vfork, so until exec the child uses
// this test process's memory, and Linux carries that memory's high-water mark (this process
// holds a 256 MiB fake registry and earlier tests' builds) into the child's ru_maxrss. So, as
// /usr/bin/time does from its own small process, a fresh small process (this test binary as
// measureRSS) starts the command and reports the rusage wait4 gave it.
func peakRSS(t *testing.T, args, env []string) int64 {
	t.Helper()
	spec, _ := json.Marshal(args)
	helper := exec.Command(os.Args[0])
	helper.Env = append(env, measureHelperEnv+"="+string(spec))
	var stdout, stderr bytes.Buffer
	helper.Stdout, helper.Stderr = &stdout, &stderr
	if err := helper.Run(); err != nil {
		t.Fatalf("%s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	var kib int64
	if _, err := fmt.Sscanf(stdout.String(), "maxrss_kib=%d", &kib); err != nil {
		t.Fatalf("reading the measured peak RSS from %q: %v", stdout.String(), err)
	}
	return kib << 10
}

// measureRSS runs the command spec (a JSON list) and prints its ru_maxrss (KiB) from wait4,
// returning its exit code; its output goes to stderr.
func measureRSS(spec string) int {
	var args []string
	if err := json.Unmarshal([]byte(spec), &args); err != nil || len(args) == 0 {
		fmt.Fprintln(os.Stderr, "bad command spec:", spec)
		return 2
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, measureHelperEnv+"=") {
			env = append(env, kv)
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, os.Stderr, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			fmt.Printf("maxrss_kib=%d\n", ru.Maxrss)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// untunedEnv is this process's environment without the Go runtime's tuning variables.
func untunedEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "GOGC", "GOMEMLIMIT", "GODEBUG", "GOMAXPROCS":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// bundleCommand builds cmd/bundle from this module into a temp dir.
func bundleCommand(t *testing.T) string {
	t.Helper()
	mod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("locating the module: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "bundle")
	build := exec.Command("go", "build", "-o", bin, "./cmd/bundle")
	build.Dir = filepath.Dir(strings.TrimSpace(string(mod)))
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building bundle: %v\n%s", err, b)
	}
	return bin
}
