package upgrade

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/harbor"
)

// makeInstallDir writes an install dir as install.sh leaves it: harbor.yml (the real default
// of cfgVersion, with data_volume and port changed) and a docker-compose.yml naming images.
func makeInstallDir(t *testing.T, cfgVersion, version string, services map[string]string) (dir, dv string) {
	t.Helper()
	parent := t.TempDir()
	dir, dv = filepath.Join(parent, "harbor"), filepath.Join(parent, "data")
	os.MkdirAll(dir, 0o755)
	os.MkdirAll(filepath.Join(dv, "database"), 0o700)
	os.MkdirAll(filepath.Join(dv, "secret"), 0o700)
	b, err := os.ReadFile(filepath.Join("testdata", "harbor-v"+cfgVersion+".yml"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "data_volume: /data", "data_volume: "+dv, 1)
	s = strings.Replace(s, "  port: 80\n", "  port: 18080\n", 1)
	os.WriteFile(filepath.Join(dir, "harbor.yml"), []byte(s), 0o644)
	var compose strings.Builder
	compose.WriteString("version: '2.3'\nservices:\n")
	for svc, img := range services {
		fmt.Fprintf(&compose, "  %s:\n    image: %s\n    restart: always\n", svc, img)
	}
	os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(compose.String()), 0o644)
	return dir, dv
}

func services194(extra ...string) map[string]string {
	m := map[string]string{
		"core": "goharbor/harbor-core:v1.9.4", "log": "goharbor/harbor-log:v1.9.4",
		"postgresql": "goharbor/harbor-db:v1.9.4", "proxy": "goharbor/nginx-photon:v1.9.4",
		"registry": "goharbor/registry-photon:v2.7.1-patch-2819-2553-v1.9.4",
	}
	for _, e := range extra {
		switch e {
		case "clair":
			m["clair"] = "goharbor/clair-photon:v2.1.0-v1.9.4"
		case "chartmuseum":
			m["chartmuseum"] = "goharbor/chartmuseum-photon:v0.9.0-v1.9.4"
		case "notary":
			m["notary-server"] = "goharbor/notary-server-photon:v0.6.1-v1.9.4"
			m["notary-signer"] = "goharbor/notary-signer-photon:v0.6.1-v1.9.4"
		}
	}
	return m
}

func TestDetectDirFromFiles(t *testing.T) {
	dir, dv := makeInstallDir(t, "1.9.0", "v1.9.4", services194("chartmuseum", "clair", "notary"))
	in, err := DetectDir(dir, "--harbor-dir", nil)
	if err != nil {
		t.Fatal(err)
	}
	if in.Version != "v1.9.4" || in.VersionFrom != "docker-compose.yml" || in.Running {
		t.Errorf("version %s from %s, running %v", in.Version, in.VersionFrom, in.Running)
	}
	if !reflect.DeepEqual(in.Components, []string{"notary", "clair", "chartmuseum"}) {
		t.Errorf("components %v", in.Components)
	}
	if got := in.InstallFlags(); !reflect.DeepEqual(got, []string{"--with-notary", "--with-clair", "--with-chartmuseum"}) {
		t.Errorf("flags %v", got)
	}
	if in.DataVolume != dv || in.HTTPPort != 18080 || in.ConfigVersion != "1.9.0" || in.HTTPSPort != 0 {
		t.Errorf("config: %+v", in)
	}
	if len(in.Images) != 9 || in.Images[0] != "goharbor/chartmuseum-photon:v0.9.0-v1.9.4" {
		t.Errorf("images %v", in.Images)
	}
}

func TestDetectDirPrefersRunningContainers(t *testing.T) {
	dir, _ := makeInstallDir(t, "1.9.0", "v1.9.4", services194())
	cs := []Container{
		{Name: "harbor-core", Image: "goharbor/harbor-core:v1.9.4", State: "running", Labels: map[string]string{LabelWorkingDir: dir, LabelService: "core"}},
		{Name: "other", Image: "goharbor/harbor-core:v1.8.6", State: "running", Labels: map[string]string{LabelWorkingDir: "/elsewhere"}},
		{Name: "not-harbor", Image: "nginx:1", State: "running", Labels: map[string]string{LabelWorkingDir: dir}},
	}
	in, err := DetectDir(dir, "running containers", cs)
	if err != nil {
		t.Fatal(err)
	}
	if !in.Running || in.VersionFrom != "running containers" || len(in.Containers) != 1 {
		t.Errorf("running %v from %s containers %d", in.Running, in.VersionFrom, len(in.Containers))
	}
}

func TestDetectRefusals(t *testing.T) {
	var de *DetectError
	if _, err := DetectDir(filepath.Join(t.TempDir(), "nope"), "default", nil); !errors.As(err, &de) || !strings.Contains(err.Error(), "--harbor-dir") {
		t.Errorf("missing dir: %v", err)
	}
	// harbor.yml of 1.10 with 1.9.4 images: a half-done manual upgrade.
	dir, _ := makeInstallDir(t, "1.10.0", "v1.9.4", services194())
	if _, err := DetectDir(dir, "default", nil); !errors.As(err, &de) || !strings.Contains(err.Error(), "half upgraded") {
		t.Errorf("half upgraded: %v", err)
	}
	// 1.7: harbor.cfg. Detected (so preflight can explain), marked legacy.
	dir17 := filepath.Join(t.TempDir(), "harbor")
	os.MkdirAll(dir17, 0o755)
	os.WriteFile(filepath.Join(dir17, "harbor.cfg"), []byte("_version = 1.7.0\nhostname = reg.example.com\nhttp_port = 8017\n"), 0o644)
	os.WriteFile(filepath.Join(dir17, "docker-compose.yml"), []byte("services:\n  core:\n    image: goharbor/harbor-core:v1.7.6\n"), 0o644)
	in, err := DetectDir(dir17, "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !in.Legacy || in.Version != "v1.7.6" || in.HTTPPort != 8017 {
		t.Errorf("1.7: %+v", in)
	}
	if err := configCheck(in, nil, "1.10.0"); err == nil || !strings.Contains(err.Error(), "v1.8.x first") {
		t.Errorf("1.7 config check: %v", err)
	}
}

func TestChooseDir(t *testing.T) {
	run := func(dir string) Container {
		return Container{Image: "goharbor/harbor-core:v1.9.4", State: "running", Labels: map[string]string{LabelWorkingDir: dir}}
	}
	if d, from, err := chooseDir([]Container{run("/opt/harbor")}, ""); err != nil || d != "/opt/harbor" || from != "running containers" {
		t.Errorf("running: %s %s %v", d, from, err)
	}
	if _, _, err := chooseDir([]Container{run("/opt/harbor")}, "/srv/harbor"); err == nil || !strings.Contains(err.Error(), "is not the Harbor that is running") {
		t.Errorf("disagreeing --harbor-dir: %v", err)
	}
	if d, from, err := chooseDir([]Container{run("/opt/harbor")}, "/opt/harbor/"); err != nil || d != "/opt/harbor" || from != "--harbor-dir" {
		t.Errorf("agreeing --harbor-dir: %s %s %v", d, from, err)
	}
	if _, _, err := chooseDir([]Container{run("/a/harbor"), run("/b/harbor")}, ""); err == nil {
		t.Error("two running Harbors accepted")
	}
	stopped := run("/opt/harbor")
	stopped.State = "exited"
	if d, from, _ := chooseDir([]Container{stopped}, ""); from != "default" || !strings.HasSuffix(d, "/harbor") {
		t.Errorf("nothing running, the stopped one's dir gone: %s %s", d, from)
	}
	kept := run(t.TempDir())
	kept.State = "exited"
	if d, from, err := chooseDir([]Container{kept}, ""); err != nil || d != kept.Labels[LabelWorkingDir] || from != "stopped containers" {
		t.Errorf("a stopped Harbor: %s %s %v", d, from, err)
	}
	other := run(t.TempDir())
	other.State = "exited"
	if _, from, _ := chooseDir([]Container{kept, other}, ""); from != "default" {
		t.Errorf("two stopped Harbors: chose from %s, want the default", from)
	}
	_ = harbor.Core
}
