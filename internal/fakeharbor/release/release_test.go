package release

import "testing"

func TestTagsAsReal(t *testing.T) {
	r, err := Get("1.10.0")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"registry":      "goharbor/registry-photon:v2.7.1-patch-2819-2553-v1.10.0",
		"notary-server": "goharbor/notary-server-photon:v0.6.1-v1.10.0",
		"clair":         "goharbor/clair-photon:v2.1.1-v1.10.0",
		"clair-adapter": "goharbor/clair-adapter-photon:v1.0.1-v1.10.0",
		"chartmuseum":   "goharbor/chartmuseum-photon:v0.9.0-v1.10.0",
		"migrator":      "goharbor/harbor-migrator:v1.10.0",
		"prepare":       "goharbor/prepare:v1.10.0",
	}
	for role, ref := range want {
		img, ok := r.Image(role)
		if !ok || img.Ref() != ref {
			t.Errorf("role %s: got %q, want %q", role, img.Ref(), ref)
		}
	}
	if _, ok := mustGet(t, "v1.9.4").Image("clair-adapter"); ok {
		t.Error("1.9.4 has no clair-adapter")
	}
	if _, err := Get("v1.6.0"); err == nil {
		t.Error("unknown version accepted")
	}
	if n := len(mustGet(t, "v1.9.4").ImagesFor()); n != 9 {
		t.Errorf("1.9.4 core services: %d, want 9", n)
	}
}

func mustGet(t *testing.T, v string) *Release {
	r, err := Get(v)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
