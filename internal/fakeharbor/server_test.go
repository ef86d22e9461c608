package fakeharbor

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func TestServeRegistryAndInstallers(t *testing.T) {
	s := StartT(t, testOptions(t, "v1.10.0", "v1.9.4"))
	if !strings.HasPrefix(s.RegistryAddr, "127.0.0.1:") || !strings.HasPrefix(s.InstallersURL, "http://127.0.0.1:") {
		t.Fatalf("not on loopback: %s %s", s.RegistryAddr, s.InstallersURL)
	}
	refs, err := s.Release("v1.10.0")
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range refs {
		img, err := remote.Image(mustRef(t, s.Ref(ref.Ref)))
		if err != nil {
			t.Fatalf("pulling %s: %v", ref.Ref, err)
		}
		want, _ := ref.Image.Digest()
		got, _ := img.Digest()
		if got != want {
			t.Errorf("%s: registry has %s, built %s", ref.Ref, got, want)
		}
	}
	img, _ := remote.Image(mustRef(t, s.Ref("goharbor/registry-photon:v2.7.1-patch-2819-2553-v1.10.0")))
	if err := validate.Image(img); err != nil {
		t.Errorf("pulled image does not validate: %v", err)
	}
	if _, err := remote.Image(mustRef(t, s.Ref("goharbor/harbor-core:v1.8.6"))); err == nil {
		t.Error("a version not asked for is served")
	}

	online := fetchTgz(t, s.InstallerURL("v1.10.0", false))
	if _, ok := online["harbor/install.sh"]; !ok {
		t.Errorf("online installer lacks harbor/install.sh: %v", keys(online))
	}
	if _, ok := online["harbor/harbor.v1.10.0.tar.gz"]; ok {
		t.Error("online installer carries the images")
	}
	offline := fetchTgz(t, s.InstallerURL("v1.10.0", true))
	images, ok := offline["harbor/harbor.v1.10.0.tar.gz"]
	if !ok {
		t.Fatalf("offline installer lacks harbor/harbor.v1.10.0.tar.gz: %v", keys(offline))
	}
	var manifest []saveManifest
	if err := json.Unmarshal(gunzipTar(t, images)["manifest.json"], &manifest); err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, m := range manifest {
		tags = append(tags, m.RepoTags...)
	}
	if len(tags) != len(refs) {
		t.Errorf("harbor.v1.10.0.tar.gz holds %d images, the release %d: %v", len(tags), len(refs), tags)
	}
	for _, bad := range []string{"/goharbor/harbor/releases/download/v1.8.6/harbor-offline-installer-v1.8.6.tgz",
		"/goharbor/harbor/releases/download/v1.10.0/harbor-offline-installer-v1.9.4.tgz", "/"} {
		resp, err := http.Get(s.InstallersURL + bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", bad, resp.Status)
		}
	}
}

func fetchTgz(t *testing.T, url string) map[string][]byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return gunzipTar(t, b)
}

func gunzipTar(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name], _ = io.ReadAll(tr)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}
