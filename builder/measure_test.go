package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/harborbundle/bundle/payload"
)

// TestMeasuredWhileDownloading: a keep build learns each layer's uncompressed size and diff ID
// while downloading it and records them in the manifest exactly (every layer is decompressed
// here and compared); a warm rebuild takes them from the cache's records and writes the same
// bytes; and a damaged record (its diff ID not the config's) is not believed: the build
// measures again and writes the same bytes.
func TestMeasuredWhileDownloading(t *testing.T) {
	srv := fakeHarbor(t)
	proxy := startProxy(t, "http://"+srv.RegistryAddr)
	cache := t.TempDir()
	opts := testOptions(t, srv, proxy, cache)
	opts.Compression = "keep"
	cold, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	pr := openBundle(t, cold.File)
	layers := 0
	for _, im := range pr.Manifest().Images {
		for _, l := range im.Layers {
			layers++
			rc, err := pr.OpenEntry("images/blobs/sha256/" + l.Digest[len("sha256:"):])
			if err != nil {
				t.Fatal(err)
			}
			u, closeFn, err := payload.Decompressor(rc)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			n, err := io.Copy(h, u)
			closeFn()
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); n != l.UncompressedSize || got != l.DiffID {
				t.Errorf("layer %s: manifest says %d bytes, %s; it decompresses to %d bytes, %s", l.Digest, l.UncompressedSize, l.DiffID, n, got)
			}
		}
	}
	records, _ := filepath.Glob(filepath.Join(cache, "uncompressed", "*.json"))
	if layers == 0 || len(records) == 0 {
		t.Fatalf("%d layers in the bundle, %d measurements recorded in the cache", layers, len(records))
	}
	want := fileSHA(t, cold.File)

	opts.Output = filepath.Join(t.TempDir(), "warm.run")
	warm, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if warm.Cache.BlobsFetched != 0 || fileSHA(t, warm.File) != want {
		t.Errorf("warm keep rebuild: %d blobs fetched, same bytes %v", warm.Cache.BlobsFetched, fileSHA(t, warm.File) == want)
	}

	for _, r := range records {
		var u Uncompressed
		body, _ := os.ReadFile(r)
		json.Unmarshal(body, &u)
		u.Size++
		u.DiffID.Hex = hex.EncodeToString(make([]byte, 32))
		body, _ = json.Marshal(u)
		if err := os.WriteFile(r, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts.Output = filepath.Join(t.TempDir(), "damaged-records.run")
	again, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatalf("rebuild with damaged records: %v", err)
	}
	if fileSHA(t, again.File) != want {
		t.Error("rebuild with damaged records wrote other bytes")
	}
}
