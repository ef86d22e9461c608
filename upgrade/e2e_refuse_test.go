package upgrade

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/harborbundle/bundle/internal/e2elock"
	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/internal/fakeharbor/installer"
	"github.com/harborbundle/bundle/internal/fakeharbor/release"
	"github.com/harborbundle/bundle/selfextract"
)

// TestE2ERefusalsChangeNothing: every refusal exits 2 (a dry run 0) and leaves the install
// dir, data_volume, the image list and the running containers exactly as they were.
func TestE2ERefusalsChangeNothing(t *testing.T) {
	run := bundleRun(t)
	h := fakeharbor.Install(t, fakeharbor.InstallOptions{Version: "v1.9.4"})
	backup := filepath.Join(h.Parent, "backups")
	tmp := t.TempDir()

	cases := []struct {
		name  string
		code  int
		want  string
		setup func(t *testing.T) (args []string, undo func())
	}{
		{"dry run", 0, "Dry run: every check passed", func(t *testing.T) ([]string, func()) {
			return []string{"--dry-run", "--backup-dir", backup}, nil
		}},
		{"dry run json", 0, `"checks"`, func(t *testing.T) ([]string, func()) {
			return []string{"--dry-run", "-o", "json", "--backup-dir", backup}, nil
		}},
		{"no confirmation off a terminal", 2, "pass --yes", func(t *testing.T) ([]string, func()) {
			return []string{"--backup-dir", backup}, nil
		}},
		{"too little space for the backup", 2, "backup space", func(t *testing.T) ([]string, func()) {
			small := filepath.Join(tmp, "tmpfs")
			os.MkdirAll(small, 0o700)
			if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small).CombinedOutput(); err != nil {
				t.Fatalf("mounting a 1 MiB tmpfs: %v %s", err, out)
			}
			return []string{"--yes", "--backup-dir", small}, func() { exec.Command("umount", small).Run() }
		}},
		{"missing old images", 2, "goharbor/harbor-log:v1.9.4", func(t *testing.T) ([]string, func()) {
			id := imageID(t, "goharbor/harbor-log:v1.9.4")
			// In use by a container: -f only untags it, and the tag can be put back.
			if out, err := exec.Command("docker", "image", "rm", "-f", "goharbor/harbor-log:v1.9.4").CombinedOutput(); err != nil {
				t.Fatalf("untagging: %v %s", err, out)
			}
			return []string{"--yes", "--backup-dir", backup}, func() {
				exec.Command("docker", "tag", id, "goharbor/harbor-log:v1.9.4").Run()
			}
		}},
		{"harbor.yml the migrator cannot handle", 2, "database.password", func(t *testing.T) ([]string, func()) {
			p := filepath.Join(h.Dir, "harbor.yml")
			orig, _ := os.ReadFile(p)
			st, _ := os.Stat(p)
			broken := strings.Replace(string(orig), "  password: root123\n", "", 1)
			if broken == string(orig) {
				t.Fatal("harbor.yml has no database password line to remove")
			}
			os.WriteFile(p, []byte(broken), 0o644)
			return []string{"--yes", "--backup-dir", backup}, func() {
				os.WriteFile(p, orig, 0o644)
				os.Chtimes(p, st.ModTime(), st.ModTime())
			}
		}},
		{"second concurrent run", 2, "is running", func(t *testing.T) ([]string, func()) {
			os.MkdirAll(backup, 0o700)
			holder := exec.Command("flock", "-x", "-o", filepath.Join(backup, LockName), "sleep", "120")
			holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := holder.Start(); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); CheckLock(backup) == nil; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the other run never took the lock")
				}
			}
			return []string{"--yes", "--backup-dir", backup}, func() {
				syscall.Kill(-holder.Process.Pid, syscall.SIGKILL)
				holder.Wait()
			}
		}},
		{"tampered bundle", 2, "damaged", func(t *testing.T) ([]string, func()) {
			bad := filepath.Join(tmp, "tampered.run")
			sb, err := selfextract.Open(run)
			if err != nil {
				t.Fatal(err)
			}
			mid := sb.Trailer.PayloadOffset + sb.Trailer.PayloadLength/2 // inside an image blob
			sb.Close()
			copyRun(t, run, bad, func(b []byte) []byte { b[mid] ^= 0xff; return b })
			return []string{"--yes", "--backup-dir", backup, "#run=" + bad}, nil
		}},
		// Without its trailer the file is a bundle binary with no payload; named .run, it says
		// so (and does not fall through to the tool's own flag parsing).
		{"truncated bundle", 2, "truncated.run has no readable payload: the file is truncated or damaged", func(t *testing.T) ([]string, func()) {
			bad := filepath.Join(tmp, "truncated.run")
			copyRun(t, run, bad, func(b []byte) []byte { return b[:len(b)-1000] })
			return []string{"--yes", "--backup-dir", backup, "#run=" + bad}, nil
		}},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			args, undo := c.setup(t)
			if undo != nil {
				defer undo()
			}
			exe := run
			if last := args[len(args)-1]; strings.HasPrefix(last, "#run=") {
				exe, args = strings.TrimPrefix(last, "#run="), args[:len(args)-1]
			}
			before := snapshot(t, h)
			res := runBundle(t, exe, args...)
			if res.code != c.code || !strings.Contains(res.stdout+res.stderr, c.want) {
				t.Errorf("want exit %d mentioning %q, got %s", c.code, c.want, res)
			}
			if strings.Contains(res.stderr, "unknown flag") || strings.Contains(res.stderr, "Usage:") {
				t.Errorf("refused by flag parsing, not by the check: %s", res)
			}
			assertUnchanged(t, before, snapshot(t, h))
			if js, _ := Journals(backup); len(js) > 0 {
				t.Errorf("a refusal left a journal: %s", js[0].ID)
			}
		})
	}
}

func imageID(t *testing.T, ref string) string {
	t.Helper()
	out, err := exec.Command("docker", "image", "inspect", "-f", "{{.Id}}", ref).Output()
	if err != nil {
		t.Fatalf("inspecting %s: %v", ref, err)
	}
	return strings.TrimSpace(string(out))
}

func copyRun(t *testing.T, src, dst string, change func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, change(b), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestE2ERefuse176 refuses a Harbor 1.7.6 install dir (harbor.cfg), explaining the way through
// 1.8, and changes nothing in it.
func TestE2ERefuse176(t *testing.T) {
	run := bundleRun(t)
	e2elock.Lock(t) // no other package's Harbor may run meanwhile
	dir := filepath.Join(t.TempDir(), "harbor")
	os.MkdirAll(dir, 0o755)
	files, err := installer.Files("v1.7.6")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		os.WriteFile(filepath.Join(dir, f.Name), f.Data, f.Mode)
	}
	rel, _ := release.Get("v1.7.6")
	var compose strings.Builder
	compose.WriteString("version: '2'\nservices:\n")
	for _, img := range rel.ImagesFor() {
		fmt.Fprintf(&compose, "  %s:\n    image: %s\n", img.Service, img.Ref())
	}
	os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(compose.String()), 0o644)
	before, _ := ScanTree(dir)
	res := runBundle(t, run, "--yes", "--harbor-dir", dir, "--backup-dir", filepath.Join(t.TempDir(), "b"))
	if res.code != 2 || !strings.Contains(res.stderr, "v1.7.6") || !strings.Contains(res.stderr, "v1.8.x first") {
		t.Errorf("1.7.6: %s", res)
	}
	after, _ := ScanTree(dir)
	if d := DiffTrees(before, after, TreeDiffOptions{}); len(d) > 0 {
		t.Errorf("1.7.6 install dir changed: %v", d)
	}
}

// TestReleaseBuildHasNoFailpoints builds ./cmd/bundle as `make build` does (no build tags) and
// proves the crash tests' kill switch is not in it: the variable's name is absent from the
// binary, and a dry run with the variable set to a point on the dry run's path (verify:end)
// behaves exactly as without it, while the -tags failpoint build the e2e tests use has the
// name and dies there (so the check can fail).
func TestReleaseBuildHasNoFailpoints(t *testing.T) {
	run := bundleRun(t)
	testBuild := filepath.Join(filepath.Dir(run), "bundle")
	release := filepath.Join(t.TempDir(), "bundle")
	t0 := time.Now()
	if err := goBuildBundle(release, "-trimpath", "-ldflags", "-s -w -X main.version=release-test"); err != nil {
		t.Fatal(err)
	}
	t.Logf("release build in %s", time.Since(t0).Round(time.Millisecond))
	for bin, want := range map[string]bool{release: false, testBuild: true} {
		b, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(b, []byte(failpointEnvName)); got != want {
			t.Errorf("%s carries %s: %v, want %v", bin, failpointEnvName, got, want)
		}
	}
	// An empty install dir: the dry run verifies the bundle, then refuses at detect, reading only.
	dir := t.TempDir()
	dryRun := func(bin string, env ...string) (runResult, bool) {
		cmd := exec.Command(bin, "upgrade", "--bundle", run, "--dry-run", "-q", "--harbor-dir", filepath.Join(dir, "harbor"), "--backup-dir", filepath.Join(dir, "backups"))
		cmd.Env = append(os.Environ(), env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		res := runResult{stdout: stdout.String(), stderr: stderr.String()}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			res.code = ee.ExitCode()
			return res, ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
		} else if err != nil {
			t.Fatal(err)
		}
		return res, false
	}
	set := failpointEnvName + "=verify:end"
	plain, _ := dryRun(release)
	withVar, killed := dryRun(release, set)
	if killed || withVar.code != plain.code || withVar.stdout != plain.stdout || withVar.stderr != plain.stderr {
		t.Errorf("the release build behaves differently with %s (killed %v):\nwithout: %s\nwith: %s", set, killed, plain, withVar)
	}
	if !strings.Contains(plain.stderr, "Verifying") {
		t.Errorf("the dry run did not get past verify, where the point is: %s", plain)
	}
	if res, killed := dryRun(testBuild, set); !killed {
		t.Errorf("the -tags failpoint build was not killed at verify:end: %s", res)
	}
}
