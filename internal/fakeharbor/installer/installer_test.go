package installer

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// unpack writes a release's installer files into a new harbor/ directory.
func unpack(t *testing.T, version string) string {
	t.Helper()
	files, err := Files(version)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "harbor")
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFilesPerVersion(t *testing.T) {
	want := map[string][]string{
		"v1.7.6":  {"install.sh", "prepare", "harbor.cfg", "LICENSE"},
		"v1.8.6":  {"install.sh", "prepare", "harbor.yml", "LICENSE"},
		"v1.9.4":  {"install.sh", "prepare", "harbor.yml", "LICENSE"},
		"v1.10.0": {"install.sh", "prepare", "harbor.yml", "common.sh", "LICENSE"},
	}
	for _, v := range release.Defaults() {
		files, err := Files(v)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		byName := map[string]File{}
		for _, f := range files {
			names = append(names, f.Name)
			byName[f.Name] = f
		}
		if strings.Join(names, " ") != strings.Join(want[v], " ") {
			t.Errorf("%s: files %v, want %v", v, names, want[v])
		}
		if byName["install.sh"].Mode != 0o755 || byName["prepare"].Mode != 0o755 || byName["LICENSE"].Mode != 0o644 {
			t.Errorf("%s: modes install.sh %v prepare %v", v, byName["install.sh"].Mode, byName["prepare"].Mode)
		}
		rel, _ := release.Get(v)
		if rel.ConfigVersion == "" {
			continue
		}
		var doc struct {
			Version string `yaml:"_version"`
		}
		if err := yaml.Unmarshal(byName["harbor.yml"].Data, &doc); err != nil || doc.Version != rel.ConfigVersion {
			t.Errorf("%s: harbor.yml _version %q (%v), want %s", v, doc.Version, err, rel.ConfigVersion)
		}
		img, _ := rel.Image(release.Prepare)
		if !strings.Contains(string(byName["prepare"].Data), "\t\t"+img.Ref()+` "$@"`) {
			t.Errorf("%s: prepare does not run %s", v, img.Ref())
		}
	}
	if _, err := Files("v1.6.0"); err == nil {
		t.Error("Files accepted an unknown version")
	}
}

// The prepare container gets the data volume and / only from 1.9 on, as in the real scripts.
func TestPrepareMountsPerVersion(t *testing.T) {
	for v, wantData := range map[string]bool{"v1.8.6": false, "v1.9.4": true, "v1.10.0": true} {
		files, _ := Files(v)
		script := string(files[1].Data)
		for _, m := range []string{`"$input_dir":/input:z`, `"$harbor_prepare_path":/compose_location:z`, `"$config_dir":/config:z`, `"$secret_dir":/secret:z`} {
			if !strings.Contains(script, m) {
				t.Errorf("%s: prepare lacks mount %s", v, m)
			}
		}
		if got := strings.Contains(script, `"$data_path":/data:z`); got != wantData {
			t.Errorf("%s: /data mounted = %v, want %v", v, got, wantData)
		}
		if got := strings.Contains(script, "/:/hostfs:z"); got != wantData {
			t.Errorf("%s: /hostfs mounted = %v, want %v", v, got, wantData)
		}
		if strings.Contains(script, "--network") {
			t.Errorf("%s: real prepare uses the default network", v)
		}
	}
}

func TestScriptsParse(t *testing.T) {
	for _, v := range release.Defaults() {
		files, _ := Files(v)
		dir := unpack(t, v)
		for _, f := range files {
			if f.Name == "LICENSE" || strings.HasPrefix(f.Name, "harbor.") {
				continue
			}
			if out, err := exec.Command("bash", "-n", filepath.Join(dir, f.Name)).CombinedOutput(); err != nil {
				t.Errorf("%s %s: bash -n: %v\n%s", v, f.Name, err, out)
			}
		}
	}
}

// runInstall runs install.sh with args and a PATH without docker, so any attempt to reach
// docker fails loudly instead of touching the engine.
func runInstall(t *testing.T, dir string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(dir, "install.sh")}, args...)...)
	cmd.Env = []string{"PATH=" + noDockerPath(t), "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// noDockerPath is a directory with links to the few tools the scripts' argument handling needs.
func noDockerPath(t *testing.T) string {
	dir := t.TempDir()
	for _, tool := range []string{"bash", "dirname", "tput", "grep", "sed", "printf"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			continue
		}
		if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestInstallFlags(t *testing.T) {
	for _, v := range release.Defaults() {
		dir := unpack(t, v)
		out, code := runInstall(t, dir, "--help")
		if code != 0 || !strings.Contains(out, "--with-clair") {
			t.Errorf("%s --help: exit %d, output %q", v, code, out)
		}
		for _, bad := range [][]string{{"--with-trivy"}, {"--with-clair", "--bogus"}, {"extra"}} {
			out, code = runInstall(t, dir, bad...)
			if code != 1 || !strings.Contains(out, "Please set --with-notary") {
				t.Errorf("%s %v: exit %d, want 1 with usage; output %q", v, bad, code, out)
			}
		}
	}
}

// install.sh of 1.8 and 1.9 refuses the example hostname before it looks for docker; 1.10 leaves
// that to prepare and goes on to check docker (absent from PATH here: exit 1, saying so).
func TestInstallRefusesPlaceholderHostname(t *testing.T) {
	for _, v := range []string{"v1.7.6", "v1.8.6", "v1.9.4"} {
		out, code := runInstall(t, unpack(t, v), "--with-clair")
		if code != 1 || !strings.Contains(out, "Please set hostname") || strings.Contains(out, "docker") {
			t.Errorf("%s: exit %d, output %q", v, code, out)
		}
	}
	out, code := runInstall(t, unpack(t, "v1.10.0"))
	if code != 1 || !strings.Contains(out, "Need to install docker(17.06.0+)") {
		t.Errorf("v1.10.0: exit %d, output %q", code, out)
	}
}

func TestVersionAtLeast(t *testing.T) {
	dir := unpack(t, "v1.10.0")
	cases := []struct {
		out          string
		major, minor string
		want         int
	}{
		{"Docker version 20.10.24+dfsg1, build 297e128", "17", "6", 0},
		{"Docker version 28.2.2, build e6534b4", "17", "6", 0},
		{"Docker version 17.06.0-ce, build 02c1d87", "17", "6", 0},
		{"Docker version 17.09.1-ce, build 19e2cf6", "17", "6", 0},
		{"Docker version 17.05.0-ce, build 89658be", "17", "6", 1},
		{"Docker version 1.13.1, build 092cba3", "17", "6", 1},
		{"docker-compose version 1.29.2, build unknown", "1", "18", 0},
		{"docker-compose version 1.18.0, build 8dd22a9", "1", "18", 0},
		{"docker-compose version 1.17.1, build 6d101fb", "1", "18", 1},
		{"Docker Compose version v2.20.2", "1", "18", 0},
		{"command not found", "1", "18", 2},
	}
	for _, c := range cases {
		script := `source "$1"; version_at_least "$2" "$3" "$4"`
		err := exec.Command("bash", "-c", script, "x", filepath.Join(dir, "common.sh"), c.out, c.major, c.minor).Run()
		got := 0
		if ee, ok := err.(*exec.ExitError); ok {
			got = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("version_at_least %q %s.%s = %d, want %d", c.out, c.major, c.minor, got, c.want)
		}
	}
}
