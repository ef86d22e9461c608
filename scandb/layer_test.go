package scandb

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/payload"
)

func TestLayoutAndMediaTypes(t *testing.T) {
	for _, c := range []struct {
		kind, dir, db, media, ref string
		schema                    int
	}{
		{payload.ScanDBTrivy, "db", "trivy.db", "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip", "ghcr.io/aquasecurity/trivy-db:2", 2},
		{payload.ScanDBTrivyJava, "java-db", "trivy-java.db", "application/vnd.aquasec.trivy.javadb.layer.v1.tar+gzip", "ghcr.io/aquasecurity/trivy-java-db:1", 1},
	} {
		dir, files, err := Layout(c.kind)
		if err != nil || dir != c.dir || len(files) != 2 || files[0] != c.db || files[1] != "metadata.json" {
			t.Errorf("Layout(%s) = %s %v %v", c.kind, dir, files, err)
		}
		if mt, _ := MediaType(c.kind); mt != c.media {
			t.Errorf("MediaType(%s) = %s", c.kind, mt)
		}
		if ref, _ := DefaultRef(c.kind); ref != c.ref {
			t.Errorf("DefaultRef(%s) = %s", c.kind, ref)
		}
		// The tag Trivy pulls is its schema version.
		if v, _ := SchemaVersion(c.kind); v != c.schema || !strings.HasSuffix(c.ref, ":"+string(rune('0'+v))) {
			t.Errorf("SchemaVersion(%s) = %d", c.kind, v)
		}
	}
	if _, _, err := Layout("clair-db"); err == nil || !strings.Contains(err.Error(), `"clair-db" is unknown`) {
		t.Errorf("Layout(clair-db) error = %v", err)
	}
}

func TestInspectReadsTheMetadataOfAGoodLayer(t *testing.T) {
	for _, kind := range Kinds() {
		entries := goodEntries(t, kind)
		for _, order := range [][]entry{entries, {entries[1], entries[0]}} {
			m, err := Inspect(bytes.NewReader(layer(t, order...)), kind)
			if err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
			if m != wantMetadata(kind) {
				t.Errorf("%s: metadata %+v, want %+v", kind, m, wantMetadata(kind))
			}
		}
		// "./name" is how `tar -C dir .`-style writers name the same files.
		dotted := goodEntries(t, kind)
		dotted[0].hdr.Name = "./" + dotted[0].hdr.Name
		if _, err := Inspect(bytes.NewReader(layer(t, dotted...)), kind); err != nil {
			t.Errorf("%s with ./ names: %v", kind, err)
		}
	}
}

func TestInspectRefusesHostileLayers(t *testing.T) {
	kind := payload.ScanDBTrivy
	good := func() []entry { return goodEntries(t, kind) }
	db, meta := good()[0], good()[1]
	with := func(e entry, f func(*entry)) entry { f(&e); return e }
	huge := with(db, func(e *entry) { e.hdr.Size = MaxDBFileSize + 1; e.skipBody = true })
	cases := []struct {
		name    string
		layer   []byte
		wantErr string
	}{
		{"traversal", layer(t, with(db, func(e *entry) { e.hdr.Name = "../trivy.db" }), meta), `unexpected entry "../trivy.db"`},
		{"absolute", layer(t, with(db, func(e *entry) { e.hdr.Name = "/trivy.db" }), meta), `unexpected entry "/trivy.db"`},
		{"in a subdirectory", layer(t, with(db, func(e *entry) { e.hdr.Name = "db/trivy.db" }), meta), `unexpected entry "db/trivy.db"`},
		{"symlink", layer(t, entry{hdr: tar.Header{Name: "trivy.db", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"}}, meta), `"trivy.db" is not a regular file`},
		{"hard link", layer(t, meta, entry{hdr: tar.Header{Name: "trivy.db", Typeflag: tar.TypeLink, Linkname: "metadata.json"}}), `"trivy.db" is not a regular file`},
		{"directory", layer(t, entry{hdr: tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}}, db, meta), `unexpected entry "./"`},
		{"extra file", layer(t, db, meta, file("evil.sh", []byte("x"))), `unexpected entry "evil.sh"`},
		{"java db in a trivy-db layer", layer(t, file("trivy-java.db", []byte("x")), meta), `unexpected entry "trivy-java.db"`},
		{"twice", layer(t, db, meta, db), `"trivy.db" appears twice`},
		{"no metadata", layer(t, db), "metadata.json is missing"},
		{"no db", layer(t, meta), "trivy.db is missing"},
		{"empty", layer(t), "trivy.db is missing"},
		{"empty db", layer(t, file("trivy.db", nil), meta), `"trivy.db" is empty`},
		{"huge db", layer(t, meta, huge), "at most 17179869184"},
		{"huge metadata", layer(t, db, file("metadata.json", bytes.Repeat([]byte(" "), MaxMetadataSize+1))), `"metadata.json" is 65537 bytes`},
		{"metadata not json", layer(t, db, file("metadata.json", []byte("{nope"))), "metadata.json is not Trivy's metadata"},
		{"metadata a list", layer(t, db, file("metadata.json", []byte(`[1]`))), "metadata.json is not Trivy's metadata"},
		{"metadata bad time", layer(t, db, file("metadata.json", []byte(`{"Version":2,"UpdatedAt":"yesterday","NextUpdate":"2026-03-15T00:00:00Z"}`))), `UpdatedAt: time "yesterday" is not RFC 3339`},
		{"metadata no NextUpdate", layer(t, db, file("metadata.json", []byte(`{"Version":2,"UpdatedAt":"2026-03-15T00:00:00Z"}`))), `NextUpdate: time "" is not RFC 3339`},
		{"metadata other schema", layer(t, db, file("metadata.json", metadataJSON(1, updated))), "schema version 1, Harbor's Trivy reads 2"},
		{"not gzip", tarOnly(t, db, meta), "not a gzip stream"},
		{"truncated", layer(t, db, meta)[:40], ""},
		{"bad gzip checksum", flipCRC(layer(t, db, meta)), "gzip stream"},
		{"junk after the tar", junkAfterTar(t, db, meta), "follow the tar's end"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Inspect(bytes.NewReader(c.layer), kind)
			if err == nil {
				t.Fatal("Inspect accepted it")
			}
			if !strings.HasPrefix(err.Error(), "trivy-db layer: ") || !strings.Contains(err.Error(), c.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line starting %q containing %q", err, "trivy-db layer: ", c.wantErr)
			}
		})
	}
	if _, err := Inspect(bytes.NewReader(layer(t, good()...)), "clair-db"); err == nil {
		t.Error("Inspect of an unknown kind succeeded")
	}
}

func tarOnly(t *testing.T, entries ...entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.body)
	}
	tw.Close()
	return buf.Bytes()
}

// flipCRC changes the gzip trailer's CRC-32: every byte of the tar reads fine, only the
// stream's end says it is damaged.
func flipCRC(b []byte) []byte {
	b = bytes.Clone(b)
	b[len(b)-8] ^= 0xff
	return b
}

func junkAfterTar(t *testing.T, entries ...entry) []byte {
	raw := append(tarOnly(t, entries...), bytes.Repeat([]byte{7}, maxTrailer+1)...)
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	gz.Write(raw)
	gz.Close()
	return buf.Bytes()
}

// Measure returns Inspect's metadata and the bytes Unpack writes: the files' sizes.
func TestMeasureSizesTheFiles(t *testing.T) {
	for _, kind := range Kinds() {
		entries := goodEntries(t, kind)
		m, size, err := Measure(bytes.NewReader(layer(t, entries...)), kind)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if want := int64(len(entries[0].body) + len(entries[1].body)); m != wantMetadata(kind) || size != want {
			t.Errorf("%s: %+v, %d bytes; want %+v, %d", kind, m, size, wantMetadata(kind), want)
		}
	}
}
