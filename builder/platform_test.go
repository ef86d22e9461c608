package builder

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/harborbundle/bundle/harbor"
)

// TestPlatform: a multi-platform image resolves to the manifest of --platform, and a platform
// the index lacks is an error naming the image.
func TestPlatform(t *testing.T) {
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	addr := strings.TrimPrefix(reg.URL, "http://")
	idx := v1.ImageIndex(empty.Index)
	want := map[string]v1.Hash{}
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(256, 2)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		want[arch] = d
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	ref, _ := name.ParseReference(addr + "/goharbor/multi:v1")
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	img := harbor.Image{Repository: "goharbor/multi", Tag: "v1", Component: "core"}
	for _, platform := range []string{"linux/amd64", "linux/arm64", "linux/s390x"} {
		s, err := resolveOptions(Options{Version: "v1.10.0", Registry: addr, Platform: platform, CacheDir: "x", Keychain: anonymous})
		if err != nil {
			t.Fatal(err)
		}
		c, err := newRegistryClient(s)
		if err != nil {
			t.Fatal(err)
		}
		ri, err := c.resolve(context.Background(), img)
		arch := strings.TrimPrefix(platform, "linux/")
		if _, ok := want[arch]; !ok {
			if err == nil || !strings.Contains(err.Error(), "goharbor/multi:v1") {
				t.Errorf("%s: error %v, want one naming the image", platform, err)
			}
			continue
		}
		if err != nil || ri.digest != want[arch] {
			t.Errorf("%s: resolved %v (%v), want %s", platform, ri, err, want[arch])
		}
	}
}
