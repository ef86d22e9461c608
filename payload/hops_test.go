package payload

import (
	"bytes"
	"strings"
	"testing"
)

// hopsPayload writes a two-hop payload (v2.4.3 then the release v2.6.4) whose hops share a
// base layer, and returns it with its manifest as written.
func hopsPayload(t *testing.T, mutate func(*Manifest)) ([]byte, Summary, error) {
	t.Helper()
	base := tarLayer(t, map[string]string{"etc/os-release": "NAME=Photon\n"})
	images := []testImage{
		{"goharbor/harbor-core:v2.4.3", "core", craftedImage(t, base, tarLayer(t, map[string]string{"core": "2.4.3"}))},
		{"goharbor/harbor-core:v2.6.4", "core", craftedImage(t, base, tarLayer(t, map[string]string{"core": "2.6.4"}))},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf, WriterOptions{BuildTime: testBuildTime, SpoolDir: t.TempDir()})
	for _, f := range []string{"installer/v2.4.3/install.sh", "installer/v2.6.4/install.sh"} {
		if err := w.AddFile(f, 0o755, 3, strings.NewReader("sh\n")); err != nil {
			t.Fatal(err)
		}
	}
	for _, im := range images {
		if err := w.AddImage(im.ref, im.component, im.img); err != nil {
			t.Fatal(err)
		}
	}
	m := testManifest()
	m.Release, m.FromVersions = "v2.6.4", []string{"v2.2.4", "v2.4.0"}
	m.Migration = Migration{Method: "prepare-migrate", Image: "goharbor/prepare:v2.6.4"}
	mig := func(v string) Migration { return Migration{Method: "prepare-migrate", Image: "goharbor/prepare:" + v} }
	m.Hops = []Hop{
		{Version: "v2.4.3", FromVersions: []string{"v2.2.4"}, Components: []string{"core"}, Migration: mig("v2.4.3"), MigratesConfig: true,
			Postgres: "9.6 -> 13", Installer: HopPrefix("v2.4.3"), Images: []string{"goharbor/harbor-core:v2.4.3"}, EstimateSeconds: 400},
		{Version: "v2.6.4", FromVersions: []string{"v2.4.0", "v2.4.3"}, Components: []string{"core"}, Migration: mig("v2.6.4"), MigratesConfig: true,
			Postgres: "9.6 -> 13", Installer: HopPrefix("v2.6.4"), Images: []string{"goharbor/harbor-core:v2.6.4"}, EstimateSeconds: 100},
	}
	m.Chains = []Chain{{From: "v2.2.4", Hops: []string{"v2.4.3", "v2.6.4"}}, {From: "v2.4.0", Hops: []string{"v2.6.4"}}}
	if mutate != nil {
		mutate(&m)
	}
	sum, err := w.Close(m)
	return buf.Bytes(), sum, err
}

func TestHopsRoundTrip(t *testing.T) {
	b, sum, err := hopsPayload(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := openPayload(t, b, sum).Manifest()
	if len(m.Hops) != 2 || len(m.Chains) != 2 {
		t.Fatalf("hops %v chains %v", m.Hops, m.Chains)
	}
	checkBlobsOnce(t, m) // the shared base layer is one entry
	layers := map[string]int{}
	for _, img := range m.Images {
		for _, l := range img.Layers {
			layers[l.Digest]++
		}
	}
	if len(layers) != 3 {
		t.Errorf("%d distinct layers, want 3 (base shared)", len(layers))
	}
	for _, tc := range []struct{ from, want string }{
		{"v2.2.4", "v2.4.3 v2.6.4"}, {"v2.4.0", "v2.6.4"}, {"v2.4.3", "v2.6.4"}, {"v2.6.4", ""}, {"v1.10.0", ""},
	} {
		var got []string
		for _, h := range m.ChainFrom(tc.from) {
			got = append(got, h.Version)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("ChainFrom(%s) = %v, want %q", tc.from, got, tc.want)
		}
	}
}

// TestOneHopManifestHasNoHopKeys: a one-hop manifest marshals without hops/chains keys, so a
// reader from before them (strict about unknown fields) still reads it.
func TestOneHopManifestHasNoHopKeys(t *testing.T) {
	b, sum := writePayload(t, WriterOptions{}, testImages(t)[:1], []testFile{{name: "installer/install.sh", mode: 0o755, data: "sh"}})
	raw := b[sum.ManifestOffset : sum.ManifestOffset+sum.ManifestLength]
	if !bytes.Contains(raw, []byte("\nrelease: v1.10.0")) {
		t.Fatalf("not the manifest: %.80q", raw)
	}
	for _, key := range []string{"\nhops:", "\nchains:"} {
		if bytes.Contains(raw, []byte(key)) {
			t.Errorf("one-hop manifest has %q", key)
		}
	}
}

func TestHopsValidate(t *testing.T) {
	for name, mut := range map[string]func(*Manifest){
		"last hop not release": func(m *Manifest) { m.Hops = m.Hops[:1]; m.Chains = m.Chains[:1] },
		"chains missing":       func(m *Manifest) { m.Chains = nil },
		"unknown image":        func(m *Manifest) { m.Hops[0].Images = []string{"goharbor/harbor-core:v9"} },
		"wrong prefix":         func(m *Manifest) { m.Hops[0].Installer = "installer/" },
		"duplicate hop":        func(m *Manifest) { m.Hops[0].Version = "v2.6.4" },
		"chain out of order":   func(m *Manifest) { m.Chains[0].Hops = []string{"v2.6.4", "v2.4.3", "v2.6.4"} },
		"chain not at release": func(m *Manifest) { m.Chains[0].Hops = []string{"v2.4.3"} },
		"chain unknown hop":    func(m *Manifest) { m.Chains[0].Hops = []string{"v2.5.0", "v2.6.4"} },
		"bad migration":        func(m *Manifest) { m.Hops[1].Migration.Method = "magic" },
		"chain from twice":     func(m *Manifest) { m.Chains[1].From = "v2.2.4" },
		"hop without installer": func(m *Manifest) {
			m.Hops[0].Installer = HopPrefix("v2.4.4")
			m.Hops[0].Version = "v2.4.4"
			m.Chains[0].Hops[0] = "v2.4.4"
		},
	} {
		if _, _, err := hopsPayload(t, mut); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
