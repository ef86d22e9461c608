package scandb

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"testing"
	"time"

	"github.com/harborbundle/bundle/payload"
)

// entry is one tar member of a test layer; body is written unless skipBody (a header whose size
// lies).
type entry struct {
	hdr      tar.Header
	body     []byte
	skipBody bool
}

func file(name string, body []byte) entry {
	return entry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}, body: body}
}

// metadataJSON is metadata.json as Trivy's encoding/json writes it.
func metadataJSON(version int, updated time.Time) []byte {
	return fmt.Appendf(nil, `{"Version":%d,"NextUpdate":%q,"UpdatedAt":%q,"DownloadedAt":"0001-01-01T00:00:00Z"}`+"\n",
		version, updated.Add(24*time.Hour).Format(time.RFC3339Nano), updated.Format(time.RFC3339Nano))
}

var updated = time.Date(2026, 3, 14, 6, 12, 29, 123456789, time.UTC)

// goodEntries are the members of a layer as Trivy publishes kind's.
func goodEntries(t *testing.T, kind string) []entry {
	t.Helper()
	_, files, err := Layout(kind)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := SchemaVersion(kind)
	return []entry{file(files[0], []byte("bolt or sqlite bytes of "+kind)), file("metadata.json", metadataJSON(v, updated))}
}

// layer writes entries as a gzip tar.
func layer(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := e.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if e.skipBody {
			if err := gz.Close(); err != nil {
				t.Fatal(err)
			}
			return buf.Bytes()
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func wantMetadata(kind string) payload.ScanDBMetadata {
	v, _ := SchemaVersion(kind)
	return payload.ScanDBMetadata{Version: v, NextUpdate: updated.Add(24 * time.Hour).Format(time.RFC3339Nano),
		UpdatedAt: updated.Format(time.RFC3339Nano), DownloadedAt: "0001-01-01T00:00:00Z"}
}
