package fakeharbor

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/scandb"
)

// TestTrivyDBServedAsGhcrServesIt pulls the fake's DB artifacts over the registry protocol and
// checks them for what Trivy's pkg/oci requires (one layer, its media type, the title annotation)
// and for what ghcr.io's look like (OCI manifest, "{}" config of Trivy's config type), and that
// scandb reads their layers.
func TestTrivyDBServedAsGhcrServesIt(t *testing.T) {
	srv := StartT(t, Options{Versions: []string{"v1.10.0"}})
	ctx := context.Background()
	updated := time.Date(2026, 3, 14, 6, 12, 29, 0, time.UTC)
	for _, kind := range scandb.Kinds() {
		ref, digest, err := srv.PushTrivyDB(ctx, kind, TrivyDBRepoTag(kind), updated)
		if err != nil {
			t.Fatal(err)
		}
		if want := srv.RegistryAddr + "/" + TrivyDBRepoTag(kind); ref != want {
			t.Errorf("ref %s, want %s", ref, want)
		}
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(r)
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		mt, _ := scandb.MediaType(kind)
		title := map[string]string{payload.ScanDBTrivy: "db.tar.gz", payload.ScanDBTrivyJava: "javadb.tar.gz"}[kind]
		if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != scandb.MediaTypeTrivyConfig || m.Config.Size != 2 ||
			len(m.Layers) != 1 || string(m.Layers[0].MediaType) != mt || m.Layers[0].Annotations["org.opencontainers.image.title"] != title ||
			m.Layers[0].Digest.String() != digest {
			t.Errorf("%s manifest %+v", kind, m)
		}
		cfg, _ := img.RawConfigFile()
		if string(cfg) != "{}" {
			t.Errorf("%s config %q", kind, cfg)
		}
		layers, _ := img.Layers()
		rc, err := layers[0].Compressed()
		if err != nil {
			t.Fatal(err)
		}
		meta, err := scandb.Inspect(rc, kind)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if meta != TrivyDBMetadata(kind, updated) || !strings.HasPrefix(meta.UpdatedAt, "2026-03-14T06:12:29") {
			t.Errorf("%s metadata %+v", kind, meta)
		}
	}
	// The same kind and time give the same bytes (a test can expect a digest).
	a, _ := TrivyDBLayer(payload.ScanDBTrivy, updated)
	b, _ := TrivyDBLayer(payload.ScanDBTrivy, updated)
	c, _ := TrivyDBLayer(payload.ScanDBTrivy, updated.Add(time.Hour))
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Error("TrivyDBLayer is not deterministic per kind and time")
	}

	// A tampered blob: the client's digest check refuses it.
	_, digest, err := srv.PushTrivyDB(ctx, payload.ScanDBTrivy, "tamper/trivy-db:2", updated)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(a)
	bad[len(bad)/2] ^= 1
	if err := srv.TamperBlob(digest, bad); err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(srv.Ref("tamper/trivy-db:2"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	rc, err := layers[0].Compressed()
	if err == nil {
		_, err = io.ReadAll(rc)
	}
	if err == nil {
		t.Error("a tampered blob was read without error")
	}
}
