package fakeharbor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/harborbundle/bundle/internal/harborreal"
)

// The fake harbor-migrator:v1.10.0 IMAGE, black box at its real mount points, against Harbor's
// real v1.10.0 migrator.py + cfg/run.py (internal/harborreal) on every corpus file, with the
// harbor-cfg-out/ mount empty and holding a harbor.yml:
//   - the same exit code (when the real run only succeeds because Python 3 can write non-ASCII,
//     which the image's Python 2.7 cannot, the fake must fail with 102 and write nothing);
//   - the result in the same place: harbor-cfg-out/harbor.yml, the input overwritten, nowhere;
//   - the same tree as PyYAML reads it (types included: 80 is not '80', None is not 'None');
//   - the same value lines: every line that is neither blank nor a comment is identical, so a
//     value prints exactly as jinja prints it. Comments and blank lines may differ.
//
// No Harbor container names are used, so this needs no e2e lock: the image is loaded under a
// unique tag and every container has a unique name and label, removed also on failure.
func TestMigratorImageMatchesRealMigrator(t *testing.T) {
	harborreal.RequireRoot(t)
	corpus, err := harborreal.Corpus()
	if err != nil {
		t.Fatal(err)
	}
	if len(corpus) < 40 {
		t.Fatalf("the corpus has %d files, want at least 40", len(corpus))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	image, label := loadFakeImage(t, ctx, "v1.10.0", "migrator")

	type run struct {
		exit       int
		input, out []byte
		log        string
	}
	type pair struct {
		name string
		orig []byte
		real harborreal.MigratorResult
		fake run
	}
	var (
		mu                 sync.Mutex
		pairs              []pair
		wg                 sync.WaitGroup
		sem                = make(chan struct{}, 3)
		realTime, fakeTime time.Duration
	)
	start := time.Now()
	for i, c := range corpus {
		for _, mode := range []harborreal.OutMode{harborreal.OutDirEmpty, harborreal.OutFileExists} {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				name := c.Name + "/" + mode.String()
				t0 := time.Now()
				real, err := harborreal.RunMigrator110(ctx, c.YAML, mode)
				t1 := time.Now()
				if err != nil {
					t.Errorf("%s: the real migrator: %v", name, err)
					return
				}
				var f run
				f.exit, f.input, f.out, f.log, err = runFakeMigratorImage(ctx, t.TempDir(), image, label, fmt.Sprintf("%d-%d", i, mode), c.YAML, mode)
				if err != nil {
					t.Errorf("%s: the fake migrator image: %v", name, err)
					return
				}
				mu.Lock()
				realTime, fakeTime = realTime+t1.Sub(t0), fakeTime+time.Since(t1)
				pairs = append(pairs, pair{name, c.YAML, real, f})
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	t.Logf("%d corpus files x 2 mounts, real and fake, 3 at a time: %s (summed: real migrator %s, fake image %s)",
		len(corpus), time.Since(start).Round(time.Second), realTime.Round(time.Second), fakeTime.Round(time.Second))

	landed := func(orig, input, out []byte) string {
		switch {
		case len(out) > 0:
			return "out"
		case !bytes.Equal(input, orig):
			return "input"
		}
		return "nowhere"
	}
	result := func(input, out []byte) []byte {
		if len(out) > 0 {
			return out
		}
		return input
	}
	dir := t.TempDir()
	var files []string
	for i, p := range pairs {
		for j, b := range [][]byte{result(p.real.Input, p.real.Out), result(p.fake.input, p.fake.out)} {
			f := filepath.Join(dir, fmt.Sprintf("%d-%d.yml", i, j))
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	trees := pyYAMLTrees(t, files)
	classes := map[string]int{}
	for i, p := range pairs {
		r, f := p.real, p.fake
		realLanded := landed(p.orig, r.Input, r.Out)
		classes[fmt.Sprintf("exit %d %s py2fails=%v", r.Exit, realLanded, r.Py2Fails)]++
		wantExit, wantLanded := r.Exit, realLanded
		if r.Py2Fails {
			wantExit, wantLanded = 102, "nowhere"
		}
		if f.exit != wantExit {
			t.Errorf("%s: the fake exited %d, the real migrator %d (Python 2 fails: %v)\nreal:\n%s\nfake:\n%s", p.name, f.exit, r.Exit, r.Py2Fails, r.Log, f.log)
			continue
		}
		if got := landed(p.orig, f.input, f.out); got != wantLanded {
			t.Errorf("%s: the fake's result landed %s, the real one's %s", p.name, got, wantLanded)
			continue
		}
		if r.Py2Fails {
			continue
		}
		if rt, ft := trees[2*i], trees[2*i+1]; strings.Join(rt, "\n") != strings.Join(ft, "\n") {
			t.Errorf("%s: the trees differ (- real, + fake):\n%s", p.name, harborreal.LineDiff(rt, ft))
			continue
		}
		rl, fl := harborreal.ValueLines(result(r.Input, r.Out)), harborreal.ValueLines(result(f.input, f.out))
		if strings.Join(rl, "\n") != strings.Join(fl, "\n") {
			t.Errorf("%s: the value lines differ (- real, + fake):\n%s", p.name, harborreal.LineDiff(rl, fl))
		}
	}
	t.Logf("outcomes of the real migrator: %v", classes)
}

// loadFakeImage loads the fake image of role in release version under a unique tag (so a
// concurrent e2e test that loads or removes the real tag is not disturbed) and removes it and
// every container labelled for this test at the end.
func loadFakeImage(t *testing.T, ctx context.Context, version, role string) (image, label string) {
	t.Helper()
	b := newTestBuilder(t, version)
	refs, err := b.Release(version)
	if err != nil {
		t.Fatal(err)
	}
	var mig *ImageRef
	for i := range refs {
		if refs[i].Info.Role == role {
			mig = &refs[i]
		}
	}
	if mig == nil {
		t.Fatalf("the %s release has no %s image", version, role)
	}
	id := randomHex(6)
	image = "bundle-test/fake-harbor-" + role + ":test-" + id
	label = "io.github.harborbundle.test=" + role + "-" + id
	// Without the fake's labels: other tests' cleanups remove (and their leftover checks count)
	// every image labelled as a fake Harbor image that was not there when they started.
	cfg, err := mig.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Config.DeepCopy()
	c.Labels = map[string]string{"io.github.harborbundle.test": role + "-" + id}
	img, err := mutate.Config(mig.Image, *c)
	if err != nil {
		t.Fatal(err)
	}
	own := ImageRef{Ref: image, Info: mig.Info, Image: img}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeDockerArchive([]ImageRef{own}, pw)) }()
	load := exec.CommandContext(ctx, "docker", "load")
	load.Stdin = pr
	out, err := load.CombinedOutput()
	pr.CloseWithError(errors.New("docker load ended"))
	if err != nil {
		t.Fatalf("docker load: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		ids, _ := exec.Command("docker", "ps", "-aq", "--filter", "label="+label).Output()
		if f := strings.Fields(string(ids)); len(f) > 0 {
			_ = exec.Command("docker", append([]string{"rm", "-f"}, f...)...).Run()
		}
		if out, err := exec.Command("docker", "rmi", image).CombinedOutput(); err != nil {
			t.Errorf("removing %s: %v\n%s", image, err, out)
		}
	})
	return image, label
}

// runFakeMigratorImage is `docker run --rm --network none -e SKIP_CONFIRM=y -v
// IN:/harbor-migration/harbor-cfg/harbor.yml -v OUT:/harbor-migration/harbor-cfg-out IMAGE --cfg
// up`, OUT empty or holding an empty harbor.yml.
func runFakeMigratorImage(ctx context.Context, dir, image, label, name string, input []byte, mode harborreal.OutMode) (exit int, in, out []byte, log string, err error) {
	inPath, outDir := filepath.Join(dir, "harbor.yml"), filepath.Join(dir, "harbor-cfg-out")
	outPath := filepath.Join(outDir, "harbor.yml")
	if err := os.WriteFile(inPath, input, 0o644); err != nil {
		return 0, nil, nil, "", err
	}
	if err := os.Mkdir(outDir, 0o755); err != nil {
		return 0, nil, nil, "", err
	}
	if mode == harborreal.OutFileExists {
		if err := os.WriteFile(outPath, nil, 0o644); err != nil {
			return 0, nil, nil, "", err
		}
	}
	cname := strings.ReplaceAll(strings.TrimPrefix(label, "io.github.harborbundle.test="), "=", "-") + "-" + name
	cmd := exec.CommandContext(ctx, "docker", "run", "--rm", "--network", "none", "--name", cname, "--label", label,
		"-e", "SKIP_CONFIRM=y", "-v", inPath+":/harbor-migration/harbor-cfg/harbor.yml", "-v", outDir+":/harbor-migration/harbor-cfg-out",
		image, "--cfg", "up")
	logb, runErr := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case runErr == nil:
	case errors.As(runErr, &ee) && ee.ExitCode() > 0 && ee.ExitCode() < 125:
		exit = ee.ExitCode()
	default:
		return 0, nil, nil, "", fmt.Errorf("docker run: %v\n%s", runErr, logb)
	}
	if in, err = os.ReadFile(inPath); err != nil {
		return 0, nil, nil, "", err
	}
	if out, err = os.ReadFile(outPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, nil, nil, "", err
	}
	return exit, in, out, string(logb), nil
}

func pyYAMLTrees(t *testing.T, files []string) [][]string {
	t.Helper()
	trees, err := harborreal.PyYAMLTrees(files)
	if err != nil {
		t.Fatal(err)
	}
	return trees
}
