package payload

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

// scanDBBlob is a stand-in layer (the payload does not look inside it: package scandb does).
func scanDBBlob(kind, content string) (ScanDB, []byte) {
	b := []byte(content)
	sum := sha256.Sum256(b)
	return ScanDB{
		Kind: kind, Ref: "ghcr.io/aquasecurity/" + kind + ":2", ManifestDigest: "sha256:" + strings.Repeat("ab", 32),
		MediaType: "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip", Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(b)),
		Metadata: ScanDBMetadata{Version: 2, UpdatedAt: "2026-03-14T06:12:29Z", NextUpdate: "2026-03-15T06:12:29Z"},
	}, b
}

// writeScanDBPayload writes a payload of m's kind carrying dbs (and the test images for an upgrade).
func writeScanDBPayload(t *testing.T, m Manifest, blobs ...[]byte) ([]byte, Summary, error) {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, WriterOptions{BuildTime: testBuildTime, SpoolDir: t.TempDir()})
	if m.Kind == KindUpgrade {
		for _, im := range testImages(t)[:1] {
			if err := w.AddImage(im.ref, im.component, im.img); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, d := range m.ScanDBs {
		if err := w.AddScanDB(d, bytes.NewReader(blobs[i])); err != nil {
			return nil, Summary{}, err
		}
	}
	sum, err := w.Close(m)
	return buf.Bytes(), sum, err
}

func TestScanDBsRoundTrip(t *testing.T) {
	db, blob := scanDBBlob(ScanDBTrivy, "trivy db layer bytes")
	java, jblob := scanDBBlob(ScanDBTrivyJava, "java db layer bytes")
	for _, m := range []Manifest{
		func() Manifest { m := testManifest(); m.ScanDBs = []ScanDB{db, java}; return m }(),
		{Kind: KindTrivyDBRefresh, Builder: Builder{Version: "test"}, ScanDBs: []ScanDB{db, java}},
	} {
		b, sum, err := writeScanDBPayload(t, m, blob, jblob)
		if err != nil {
			t.Fatalf("kind %q: %v", m.Kind, err)
		}
		r := openPayload(t, b, sum)
		if err := r.Verify(bg, nil); err != nil {
			t.Fatalf("kind %q: %v", m.Kind, err)
		}
		if got := r.Manifest(); got.Kind != m.Kind || len(got.ScanDBs) != 2 || got.ScanDBs[1] != java {
			t.Errorf("kind %q: manifest read back %+v", m.Kind, got.ScanDBs)
		}
		d, rc, err := r.OpenScanDB(ScanDBTrivyJava)
		if err != nil || d != java {
			t.Fatalf("OpenScanDB: %+v %v", d, err)
		}
		if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, jblob) {
			t.Errorf("OpenScanDB read %q %v", got, err)
		}
		if m.Kind == KindTrivyDBRefresh && (len(r.Manifest().Images) != 0 || r.Manifest().Release != "") {
			t.Errorf("a refresh bundle came back with images or a release")
		}
	}
}

func TestOpenScanDBChecksTheBlob(t *testing.T) {
	db, blob := scanDBBlob(ScanDBTrivy, "trivy db layer bytes, long enough to find")
	b, sum, err := writeScanDBPayload(t, Manifest{Kind: KindTrivyDBRefresh, ScanDBs: []ScanDB{db}}, blob)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, blob)
	b[i+3] ^= 1
	r := openPayload(t, b, sum)
	_, rc, err := r.OpenScanDB(ScanDBTrivy)
	if err != nil {
		t.Fatal(err)
	}
	var ie *IntegrityError
	if _, err := io.ReadAll(rc); !errors.As(err, &ie) || ie.Path != blobPath(db.Digest) {
		t.Errorf("reading a tampered DB blob: %v, want an IntegrityError on %s", err, blobPath(db.Digest))
	}
	if _, _, err := r.OpenScanDB(ScanDBTrivyJava); err == nil {
		t.Error("OpenScanDB of a DB not carried succeeded")
	}
}

func TestAddScanDBRefusesBytesOfAnotherDigest(t *testing.T) {
	db, _ := scanDBBlob(ScanDBTrivy, "what the registry's digest vouches for")
	_, _, err := writeScanDBPayload(t, Manifest{Kind: KindTrivyDBRefresh, ScanDBs: []ScanDB{db}}, []byte("something else of the same size!!!!!!!!"))
	if err == nil || !strings.Contains(err.Error(), "adding scan db trivy-db") {
		t.Errorf("AddScanDB error = %v", err)
	}
}

func TestScanDBValidation(t *testing.T) {
	db, blob := scanDBBlob(ScanDBTrivy, "trivy db layer bytes")
	refresh := func(f func(*Manifest)) Manifest {
		m := Manifest{Kind: KindTrivyDBRefresh, ScanDBs: []ScanDB{db}}
		f(&m)
		return m
	}
	for _, c := range []struct {
		name string
		m    Manifest
		want string
	}{
		{"unknown bundle kind", refresh(func(m *Manifest) { m.Kind = "clair-refresh" }), `unknown bundle kind "clair-refresh"`},
		{"refresh without dbs", refresh(func(m *Manifest) { m.ScanDBs = nil }), "carries no scan DB"},
		{"refresh with a hop", refresh(func(m *Manifest) { m.Hops = []Hop{{Version: "v2.15.2"}} }), "carries images or hops"},
		{"unknown db kind", refresh(func(m *Manifest) { m.ScanDBs[0].Kind = "clair-db" }), `scan db kind "clair-db" is unknown`},
		{"bad manifest digest", refresh(func(m *Manifest) { m.ScanDBs[0].ManifestDigest = "latest" }), "is not sha256:<64 hex>"},
		{"blob not carried", refresh(func(m *Manifest) { m.ScanDBs[0].Digest = "sha256:" + strings.Repeat("cd", 32) }), "is not in the payload"},
		{"size differs", refresh(func(m *Manifest) { m.ScanDBs[0].Size++ }), "differs from its blob's"},
		{"listed twice", refresh(func(m *Manifest) { m.ScanDBs = []ScanDB{db, db} }), "scan db trivy-db listed twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Written with the real blob, then the manifest is changed: as a hostile manifest would be.
			_, sum, err := writeScanDBPayload(t, Manifest{Kind: KindTrivyDBRefresh, ScanDBs: []ScanDB{db}}, blob)
			if err != nil {
				t.Fatal(err)
			}
			m := *sum.Manifest
			m.Kind, m.ScanDBs, m.Hops = c.m.Kind, c.m.ScanDBs, c.m.Hops
			err = m.validateScanDBs()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("validateScanDBs = %v, want %q", err, c.want)
			}
		})
	}
	// An upgrade with images is no refresh: its images are fine.
	up := testManifest()
	up.Kind = KindTrivyDBRefresh
	up.ScanDBs = []ScanDB{db}
	up.Images = []Image{{Ref: "goharbor/harbor-core:v1.10.0"}}
	if err := up.validateScanDBs(); err == nil || !strings.Contains(err.Error(), "carries images or hops") {
		t.Errorf("refresh with images: %v", err)
	}
}
