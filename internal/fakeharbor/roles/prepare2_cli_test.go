package roles

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/harborbundle/bundle/internal/harborreal"
)

// runRealMain runs Harbor's real `python3 main.py ARGS` of a 2.x line (only arguments that
// click refuses before any file is touched) and returns its exit code and output.
func runRealMain(t *testing.T, folder string, args ...string) (int, string) {
	t.Helper()
	root := harborreal.RequireRoot(t)
	py, err := harborreal.Python()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{"main.py"}, args...)...)
	cmd.Dir = filepath.Join(root, "prepare", folder)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

// TestPrepare2CLIAsReal: what the real click program refuses, the fake refuses with the same
// usage message (click's difflib suggestions included) and exit 2 — the prepare script's `$@` without the `prepare` command, an option
// the line dropped, an unknown command — and the options a line accepts are the real ones.
func TestPrepare2CLIAsReal(t *testing.T) {
	cases := []struct {
		folder string
		args   []string
	}{
		{"v2.15.2", []string{"--with-trivy"}},
		{"v2.15.2", []string{"prepare", "--with-notary"}},
		{"v2.9.5", []string{"prepare", "--with-chartmuseum"}},
		{"v2.8.6", []string{"prepare", "--with-chartmuseum"}},
		{"v2.2.4", []string{"prepare", "--with-clair"}},
		{"v2.0.6", []string{"prepare", "--with-foo"}},
		{"v2.13.5", []string{"frob"}},
		{"v2.4.3", []string{"prepare", "extra"}},
		{"v2.6.4", []string{"prepare", "--with-triv"}},
		{"v2.1.6", []string{"prepare", "--with-clairs"}},
		{"v2.11.2", []string{"prepare", "--conff"}},
		{"v2.15.2", []string{"prepare", "--fcf"}},
	}
	for _, c := range cases {
		wantCode, wantOut := runRealMain(t, c.folder, c.args...)
		e := prepare2Env(t, c.folder, "hostname: x\n")
		code := e.run(append([]string{"prepare"}, c.args...)...)
		if code != wantCode || strings.TrimSpace(e.output()) != strings.TrimSpace(wantOut) {
			t.Errorf("%s %v: fake exit %d\n%s\nreal exit %d\n%s", c.folder, c.args, code, e.output(), wantCode, wantOut)
		}
		if wantCode != 2 {
			t.Errorf("%s %v: the real program exits %d, the case is meant to be a usage error", c.folder, c.args, wantCode)
		}
	}
	// Every option each line's real prepare accepts (its --help) is the fake's, and no other.
	for _, folder := range lines2x(t) {
		_, help := runRealMain(t, folder, "prepare", "--help")
		line, _, _ := lineOf(folder)
		var real []string
		for _, f := range strings.Fields(help) {
			if strings.HasPrefix(f, "--with-") {
				real = append(real, strings.TrimPrefix(f, "--with-"))
			}
		}
		if got := strings.Join(prepareLines[line].options, ","); got != strings.Join(real, ",") {
			t.Errorf("%s: fake prepare options %s, real %s", folder, got, strings.Join(real, ","))
		}
	}
}

// TestPrepare2DispatchesMigrate: `migrate ...` goes to prepare migrate, not to generation.
func TestPrepare2DispatchesMigrate(t *testing.T) {
	e := prepare2Env(t, "v2.13.5", "hostname: x\n")
	code := e.run("prepare", "migrate", "--help")
	if code != 0 || strings.Contains(e.output(), "Generated configuration file") {
		t.Fatalf("migrate --help: exit %d\n%s", code, e.output())
	}
	if _, err := os.Stat(e.path(prepareCompose)); err == nil {
		t.Fatal("migrate wrote a docker-compose.yml")
	}
}
