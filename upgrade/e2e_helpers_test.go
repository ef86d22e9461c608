package upgrade

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harborbundle/bundle/builder"
	"github.com/harborbundle/bundle/internal/docker"
	"github.com/harborbundle/bundle/internal/fakeharbor"
)

// The end-to-end tests run the real .run, built once per test binary by the real builder from
// the fake Harbor's registry, against fake Harbors installed on the machine's Docker engine.

var (
	artifactsDir string // per test binary; removed by TestMain
	runOnce      sync.Once
	runPath      string
	runErr       error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "upgrade-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	artifactsDir = dir
	flag.Parse()
	prebuilt := prebuildRuns()
	code := m.Run()
	prebuilt.Wait()
	os.RemoveAll(dir)
	os.Exit(code)
}

// prebuildRuns builds, in the background, the .run bundles a whole run of the package's tests
// (make test: no -run) will ask for, in the order they are asked for: each is then built while
// the tests before it wait on containers, instead of while the e2e lock's holder waits on it.
// A test asking for a bundle still being built waits for it (sync.Once).
func prebuildRuns() *sync.WaitGroup {
	var wg sync.WaitGroup
	if f := flag.Lookup("test.run"); f == nil || f.Value.String() != "" || testing.Short() {
		return &wg
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, v := range []string{"v2.0.6", "v2.4.3", "v2.10.3", "v2.15.2", "v2.8.6"} {
			run2x(v) // an error is reported by the test that needs the bundle
		}
		chainRun("v2.4.3", "v1.9.4") // e2e_chain_test.go
		chainRun("v2.15.2", "v1.10.0")
		run110()
	}()
	return &wg
}

// bundleRun returns the path of harbor-upgrade-1.10.run (all components), building it on first use.
func bundleRun(t *testing.T) string {
	t.Helper()
	path, err := run110()
	if err != nil {
		t.Fatalf("building the .run: %v", err)
	}
	return path
}

// run110 is bundleRun without a test.
func run110() (string, error) {
	// -tags failpoint: the crash tests kill the upgrader at named points (failpoint.go); a
	// release build (make build) has no such switch, which TestReleaseBuildHasNoFailpoints checks.
	runOnce.Do(func() {
		runPath, runErr = buildRun(artifactsDir, "harbor-upgrade-1.10.run", fakeharbor.Options{}, "-tags", "failpoint")
	})
	return runPath, runErr
}

// buildRun builds the bundle stub with goFlags and a v1.10.0 .run named name in dir from a fake
// Harbor served with opts.
func buildRun(dir, name string, opts fakeharbor.Options, goFlags ...string) (string, error) {
	return buildRunFor(dir, name, "v1.10.0", opts, goFlags...)
}

// buildRunFor is buildRun for any target release: its .run is built by the real builder from
// the fake registry and that release's online installer (for 2.x: Harbor's real installer files).
func buildRunFor(dir, name, version string, opts fakeharbor.Options, goFlags ...string) (string, error) {
	ctx := context.Background()
	start := time.Now()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	stub := filepath.Join(dir, "bundle")
	if err := goBuildBundle(stub, append(goFlags, "-trimpath")...); err != nil {
		return "", err
	}
	opts.Versions = []string{version}
	srv, err := fakeharbor.Start(ctx, opts)
	if err != nil {
		return "", err
	}
	defer srv.Close()
	run := filepath.Join(dir, name)
	_, err = builder.Build(ctx, builder.Options{
		Version: version, Output: run, Registry: srv.RegistryAddr, InsecureRegistry: true,
		Installer: srv.InstallerURL(version, false), CacheDir: filepath.Join(dir, "cache"),
		Stub: stub, BuilderVersion: "e2e-test",
	})
	if err != nil {
		return "", fmt.Errorf("building the bundle: %w", err)
	}
	os.RemoveAll(filepath.Join(dir, "cache"))
	fmt.Fprintf(os.Stderr, "upgrade e2e: built %s in %s\n", run, time.Since(start).Round(time.Millisecond))
	return run, nil
}

// failpointEnvName is failpoint.go's failpointEnv, which only -tags failpoint builds define.
const failpointEnvName = "BUNDLE_UPGRADE_FAILPOINT"

func goBuildBundle(out string, flags ...string) error {
	mod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return err
	}
	build := exec.Command("go", append(append([]string{"build"}, flags...), "-o", out, "./cmd/bundle")...)
	build.Dir = filepath.Dir(strings.TrimSpace(string(mod)))
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s ./cmd/bundle: %v\n%s", strings.Join(flags, " "), err, b)
	}
	return nil
}

// runResult is one run of the .run.
type runResult struct {
	code           int
	stdout, stderr string
}

func (r runResult) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// runBundle runs the .run (or `rollback`, `status`...) as a user would.
func runBundle(t *testing.T, run string, args ...string) runResult {
	t.Helper()
	return runBundleEnv(t, nil, run, args...)
}

// runBundleEnv is runBundle with env added to the environment (e.g. a fake Harbor's ShimEnv,
// under which the real 2.x install.sh it runs can start its prepare container).
func runBundleEnv(t *testing.T, env []string, run string, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(run, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := runResult{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", run, err)
	}
	t.Logf("$ %s %s -> exit %d", filepath.Base(run), strings.Join(args, " "), res.code)
	if i := slices.Index(args, "--backup-dir"); i >= 0 && i+1 < len(args) {
		logStepTimes(t, args[i+1])
	}
	return res
}

// logStepTimes logs how long each step of the latest journal under backup took: where an
// end-to-end test's time goes (make test's wall time is mostly these steps, serialised on the
// e2e lock).
func logStepTimes(t *testing.T, backup string) {
	t.Helper()
	js, err := Journals(backup)
	if err != nil || len(js) == 0 {
		return
	}
	j := js[len(js)-1]
	took := func(steps []StepRecord) string {
		var parts []string
		for _, s := range steps {
			d := s.Took
			if d == 0 && !s.Ended.IsZero() {
				d = s.Ended.Sub(s.Started)
			}
			parts = append(parts, fmt.Sprintf("%s %s %s", s.Name, s.Status, d.Round(100*time.Millisecond)))
		}
		return strings.Join(parts, ", ")
	}
	t.Logf("journal %s: %s; steps: %s", j.ID, j.State, took(j.Steps))
	if len(j.Rollback) > 0 {
		t.Logf("journal %s: rollback steps: %s", j.ID, took(j.Rollback))
	}
}

// hostState is what a refusal must leave exactly as it was.
type hostState struct {
	installDir, database, secret, dataVolume *TreeManifest
	images                                   []string
	containers                               []string
}

func snapshot(t *testing.T, h *fakeharbor.Harbor) *hostState {
	t.Helper()
	ctx := context.Background()
	s := &hostState{}
	var err error
	for _, x := range []struct {
		dst  **TreeManifest
		path string
	}{{&s.installDir, h.Dir}, {&s.database, filepath.Join(h.DataVolume, "database")},
		{&s.secret, filepath.Join(h.DataVolume, "secret")}, {&s.dataVolume, h.DataVolume}} {
		if *x.dst, err = ScanTree(x.path); err != nil {
			t.Fatal(err)
		}
	}
	imgs, err := h.Docker.Images(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range imgs {
		if strings.HasPrefix(i.Repository, "goharbor/") { // other packages' tests add and remove their own
			s.images = append(s.images, i.Ref()+"@"+i.ID)
		}
	}
	sort.Strings(s.images)
	// Other packages' tests start and remove their own containers meanwhile: one can vanish
	// between docker ps and docker inspect, so list only fake Harbor ones, and retry.
	var cs []docker.Container
	for try := 0; ; try++ {
		if cs, err = h.Docker.PS(ctx, "label="+fakeharbor.LabelFake); err == nil || try == 4 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Labels[fakeharbor.LabelFake] != "" {
			s.containers = append(s.containers, c.ID+" "+c.Name+" "+c.State)
		}
	}
	sort.Strings(s.containers)
	return s
}

// dataOnly compares without times for trees a running service keeps touching.
func assertUnchanged(t *testing.T, before, after *hostState) {
	t.Helper()
	for _, x := range []struct {
		name string
		a, b *TreeManifest
	}{{"install dir", before.installDir, after.installDir}, {"database", before.database, after.database},
		{"secret", before.secret, after.secret}, {"data_volume", before.dataVolume, after.dataVolume}} {
		if d := DiffTrees(x.a, x.b, TreeDiffOptions{}); len(d) > 0 {
			t.Errorf("%s changed: %s", x.name, strings.Join(d, "\n  "))
		}
	}
	if strings.Join(before.images, "\n") != strings.Join(after.images, "\n") {
		t.Errorf("image list changed:\nbefore %v\nafter  %v", before.images, after.images)
	}
	if strings.Join(before.containers, "\n") != strings.Join(after.containers, "\n") {
		t.Errorf("containers changed:\nbefore %v\nafter  %v", before.containers, after.containers)
	}
}

// readJournalOf returns the only journal under backupDir.
func readJournalOf(t *testing.T, backupDir string) *Journal {
	t.Helper()
	js, err := Journals(backupDir)
	if err != nil || len(js) != 1 {
		t.Fatalf("journals in %s: %d, %v", backupDir, len(js), err)
	}
	return js[0]
}

func jsonReport(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("-o json output is not JSON: %v\n%s", err, out)
	}
	return m
}
