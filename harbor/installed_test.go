package harbor

import (
	"slices"
	"strings"
	"testing"
)

// The shape prepare writes for 1.9 with notary and clair (abridged: volumes, networks, logging).
const compose194 = `version: '2.3'
services:
  log:
    image: goharbor/harbor-log:v1.9.4
    container_name: harbor-log
  registry:
    image: goharbor/registry-photon:v2.7.1-patch-2819-2553-v1.9.4
  core:
    image: goharbor/harbor-core:v1.9.4
    container_name: harbor-core
  notary-server:
    image: goharbor/notary-server-photon:v0.6.1-v1.9.4
  notary-signer:
    image: goharbor/notary-signer-photon:v0.6.1-v1.9.4
  clair:
    image: goharbor/clair-photon:v2.1.0-v1.9.4
networks:
  harbor:
    external: false
`

func TestInstalledFromCompose(t *testing.T) {
	in, err := InstalledFromCompose([]byte(compose194))
	if err != nil {
		t.Fatal(err)
	}
	if in.Version != (Version{1, 9, 4}) || !slices.Equal(in.Components, []string{Notary, Clair}) || len(in.Images) != 6 {
		t.Errorf("got %+v", in)
	}
	if err := mustGet(t, mustCatalog(t), "v1.10.0").CanUpgradeFrom(in.Version.String()); err != nil {
		t.Errorf("1.9.4 -> 1.10.0: %v", err)
	}
	for name, doc := range map[string]string{
		"no core":     strings.Replace(compose194, "harbor-core:v1.9.4", "harbor-kore:v1.9.4", 1),
		"bad tag":     strings.Replace(compose194, "harbor-core:v1.9.4", "harbor-core:latest", 1),
		"no services": "version: '2.3'\n",
		"two cores":   strings.Replace(compose194, "networks:", "  core2: {image: 'goharbor/harbor-core:v1.10.0'}\nnetworks:", 1),
	} {
		if _, err := InstalledFromCompose([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestInstalledFromImagesMirrorAndDigest(t *testing.T) {
	in, err := InstalledFromImages([]string{
		"mirror.local:5000/goharbor/harbor-core:v1.8.6",
		"goharbor/chartmuseum-photon:v0.9.0-v1.8.6@sha256:0000000000000000000000000000000000000000000000000000000000000000",
		"goharbor/trivy-adapter-photon:v2.0.0",
	})
	if err != nil || in.Version != (Version{1, 8, 6}) || !slices.Equal(in.Components, []string{Chartmuseum, Trivy}) {
		t.Fatalf("%+v %v", in, err)
	}
}
