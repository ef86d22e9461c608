package payload

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestManifestGolden pins the manifest of a payload made only of crafted (non-random) inputs, so
// that any change to the format, or to the bytes the writer produces, shows up in review.
func TestManifestGolden(t *testing.T) {
	for _, compression := range []string{"keep", "zstd"} {
		t.Run(compression, func(t *testing.T) {
			crafted := testImages(t)[:2]
			_, sum := writePayload(t, WriterOptions{Compression: compression}, crafted, testFiles)
			got, err := sum.Manifest.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "manifest-"+compression+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestManifestGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("manifest differs from %s (rerun with -update if intended):\n%s", golden, got)
			}
		})
	}
}

func TestManifestRoundTrip(t *testing.T) {
	_, sum := writePayload(t, WriterOptions{}, testImages(t), testFiles)
	b, err := sum.Manifest.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, sum.Manifest) {
		t.Errorf("manifest changed in a round trip:\n%+v\n%+v", m, sum.Manifest)
	}
	if m.Compression != (Compression{Algorithm: "zstd", Level: "default"}) {
		t.Errorf("default compression recorded as %+v", m.Compression)
	}
}

func TestParseManifestRefuses(t *testing.T) {
	_, sum := writePayload(t, WriterOptions{Compression: "keep"}, testImages(t)[:1], testFiles)
	good, _ := sum.Manifest.Marshal()
	blob := sum.Manifest.Images[0].Layers[0].Digest[len("sha256:"):]
	cases := map[string]struct{ old, new string }{
		"unknown field":       {"release: v1.10.0", "release: v1.10.0\nextra: 1"},
		"schema version":      {"schema_version: 1", "schema_version: 2"},
		"second document":     {"release: v1.10.0", "release: v1.10.0\n---\nrelease: x"},
		"path outside":        {"path: installer/install.sh", "path: etc/install.sh"},
		"absolute path":       {"path: installer/install.sh", "path: /installer/install.sh"},
		"unclean path":        {"path: installer/install.sh", "path: installer/./install.sh"},
		"duplicate path":      {"path: installer/prepare", "path: installer/install.sh"},
		"bad sha256":          {"sha256: " + blob, "sha256: " + strings.ToUpper(blob)},
		"negative size":       {"size: 0", "size: -1"},
		"unaligned offset":    {"offset: 512\n", "offset: 513\n"},
		"mode bits":           {"mode: 493", "mode: 2541"},
		"unknown compression": {"algorithm: keep", "algorithm: lz4"},
		"unknown migration":   {"method: harbor-migrator", "method: sed"},
		"bad digest":          {"manifest_digest: sha256:", "manifest_digest: md5:"},
		"not yaml":            {"release: v1.10.0", "release: [v1.10.0"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(string(good), c.old) {
				t.Fatalf("golden manifest has no %q", c.old)
			}
			bad := strings.Replace(string(good), c.old, c.new, 1)
			if _, err := ParseManifest([]byte(bad)); err == nil {
				t.Errorf("accepted:\n%s", bad)
			}
		})
	}
	if _, err := ParseManifest(good); err != nil {
		t.Fatalf("the unedited manifest is refused: %v", err)
	}
}
