package upgrade

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/payload"
)

// Components the target drops that the install uses are named with what is lost and refused
// without --drop-components naming each; the new install.sh gets neither their flags nor a
// flag it refuses, and trivy in use is carried.
func TestDropsAndFlags(t *testing.T) {
	cat, err := harbor.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	target, _ := cat.Get("v2.4.3")
	in := &Install{Version: "v1.10.0", Components: []string{"notary", "clair", "chartmuseum"}}
	drops, err := droppedInUse(cat, in, target)
	if err != nil || len(drops) != 1 || drops[0].Component != "clair" || !strings.Contains(drops[0].Lost, "Trivy") {
		t.Fatalf("1.10 -> 2.4.3 drops %+v %v", drops, err)
	}
	if err := dropsErr(drops, nil); err == nil || !strings.Contains(err.Error(), "--drop-components clair") {
		t.Errorf("no consent: %v", err)
	}
	if err := dropsErr(drops, []string{"clair"}); err != nil {
		t.Errorf("consent: %v", err)
	}
	if err := dropsErr(drops, []string{"clair", "notary"}); err == nil || !strings.Contains(err.Error(), "does not drop") {
		t.Errorf("consent to what is not dropped: %v", err)
	}
	m := &payload.Manifest{Release: target.Version, Components: []string{"core", "notary", "chartmuseum", "trivy"}, InstallFlags: target.InstallFlags}
	comps, err := chooseComponents(in, m, target, nil)
	if err != nil || !reflect.DeepEqual(flagsFor(comps), []string{"--with-notary", "--with-chartmuseum"}) {
		t.Errorf("flags for 2.4.3: %v %v", flagsFor(comps), err)
	}
	// The refused flag is never passed, even when asked for.
	if _, err := chooseComponents(in, &payload.Manifest{Release: target.Version, Components: []string{"clair"}, InstallFlags: []string{"--with-clair"}},
		target, []string{"clair"}); err == nil || !strings.Contains(err.Error(), "refuses --with-clair") {
		t.Errorf("--with-clair to 2.4.3: %v", err)
	}

	// 2.8.6 (chartmuseum already gone) with notary and trivy -> 2.10.3: notary goes (2.9),
	// trivy is carried.
	target, _ = cat.Get("v2.10.3")
	in = &Install{Version: "v2.8.6", Components: []string{"notary", "trivy"}}
	drops, _ = droppedInUse(cat, in, target)
	if len(drops) != 1 || drops[0].Component != "notary" {
		t.Errorf("2.8.6 -> 2.10.3 drops %+v", drops)
	}
	m = &payload.Manifest{Release: target.Version, Components: []string{"core", "trivy"}, InstallFlags: target.InstallFlags}
	if comps, err := chooseComponents(in, m, target, nil); err != nil || !reflect.DeepEqual(flagsFor(comps), []string{"--with-trivy"}) {
		t.Errorf("2.10.3 flags %v %v", flagsFor(comps), err)
	}
	if txt := dropsText(drops); !strings.Contains(txt, "notary") || !strings.Contains(txt, "Cosign") {
		t.Errorf("text %q", txt)
	}
}

// The 2.x compose service trivy-adapter is the trivy component.
func TestDetectTrivy(t *testing.T) {
	dir, _ := makeInstallDir(t, "1.10.0", "v2.0.6", map[string]string{
		"core": "goharbor/harbor-core:v2.0.6", "trivy-adapter": "goharbor/trivy-adapter-photon:v2.0.6",
		"chartmuseum": "goharbor/chartmuseum-photon:v2.0.6",
	})
	in := &Install{Dir: dir}
	if err := in.readCompose(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in.InstallFlags(), []string{"--with-chartmuseum", "--with-trivy"}) {
		t.Errorf("flags %v", in.InstallFlags())
	}
}

// A fresh 2.1.x install says `_version: 2.0.0` (its harbor.yml.tmpl does): that is what the
// release ships, not a half-done upgrade; 1.10.0 under 2.1.6 images still is.
func TestDetectShippedConfigVersion(t *testing.T) {
	dir, _ := makeInstallDir(t, "1.10.0", "v2.1.6", map[string]string{"core": "goharbor/harbor-core:v2.1.6"})
	yml := filepath.Join(dir, "harbor.yml")
	b, _ := os.ReadFile(yml)
	os.WriteFile(yml, []byte(strings.Replace(string(b), "_version: 1.10.0", "_version: 2.0.0", 1)), 0o644)
	in, err := DetectDir(dir, "--harbor-dir", nil)
	if err != nil || in.Version != "v2.1.6" || in.ConfigVersion != "2.0.0" {
		t.Errorf("2.1.6 with 2.0.0: %+v %v", in, err)
	}
	os.WriteFile(yml, b, 0o644)
	if _, err := DetectDir(dir, "--harbor-dir", nil); err == nil || !strings.Contains(err.Error(), "half upgraded") {
		t.Errorf("2.1.6 with 1.10.0: %v", err)
	}
}
