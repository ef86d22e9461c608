package scandb

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/harborbundle/bundle/payload"
)

// maxTrailer bounds what may follow the tar's end marker inside the gzip stream (tar pads to
// its record size, 10 KiB with GNU tar; anything far beyond that is not a tar writer's).
const maxTrailer = 1 << 20

// Inspect reads a layer blob (gzip tar) of kind, checks it holds exactly the kind's files
// (regular files with plain names, each once, sizes bounded, the DB file not empty), that the
// gzip stream is whole, and that metadata.json is Trivy's for this kind's schema, and returns that
// metadata.
func Inspect(layer io.Reader, kind string) (payload.ScanDBMetadata, error) {
	return walkLayer(layer, kind, func(string, io.Reader) error { return nil })
}

// Measure is Inspect that also returns the size of the layer's files once unpacked: the room
// Unpack needs. The layer is read once.
func Measure(layer io.Reader, kind string) (payload.ScanDBMetadata, int64, error) {
	var size int64
	m, err := walkLayer(layer, kind, func(_ string, content io.Reader) error {
		n, err := io.Copy(io.Discard, content)
		size += n
		return err
	})
	return m, size, err
}

// walkLayer checks layer as Inspect says and hands each file's content to file (which must
// read it or leave it; walkLayer drains it). Any error names the kind and what is wrong.
func walkLayer(layer io.Reader, kind string, file func(name string, content io.Reader) error) (payload.ScanDBMetadata, error) {
	s, err := lookup(kind)
	if err != nil {
		return payload.ScanDBMetadata{}, err
	}
	m, err := s.walk(layer, file)
	if err != nil {
		return payload.ScanDBMetadata{}, fmt.Errorf("%s layer: %w", kind, err)
	}
	return m, nil
}

func (s spec) walk(layer io.Reader, file func(name string, content io.Reader) error) (payload.ScanDBMetadata, error) {
	var m payload.ScanDBMetadata
	gz, err := gzip.NewReader(layer)
	if err != nil {
		return m, fmt.Errorf("not a gzip stream: %w", err)
	}
	defer gz.Close()
	want := []string{s.dbFile, metadataFile}
	seen := map[string]bool{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, fmt.Errorf("reading the tar: %w", err)
		}
		name, err := s.checkHeader(h, want, seen)
		if err != nil {
			return m, err
		}
		content := io.Reader(tr)
		if name == metadataFile {
			b, err := io.ReadAll(tr)
			if err != nil {
				return m, fmt.Errorf("reading %s: %w", h.Name, err)
			}
			if m, err = s.parseMetadata(b); err != nil {
				return m, err
			}
			content = bytes.NewReader(b)
		}
		if err := file(name, content); err != nil {
			return m, err
		}
		if _, err := io.Copy(io.Discard, content); err != nil {
			return m, fmt.Errorf("reading %s: %w", h.Name, err)
		}
	}
	for _, w := range want {
		if !seen[w] {
			return payload.ScanDBMetadata{}, fmt.Errorf("%s is missing (a Trivy %s layer holds %s)", w, s.dir, strings.Join(want, " and "))
		}
	}
	// The gzip checksum is only checked at the stream's end: read it to there.
	if n, err := io.Copy(io.Discard, io.LimitReader(gz, maxTrailer+1)); err != nil {
		return payload.ScanDBMetadata{}, fmt.Errorf("gzip stream: %w", err)
	} else if n > maxTrailer {
		return payload.ScanDBMetadata{}, fmt.Errorf("more than %d bytes follow the tar's end", maxTrailer)
	}
	return m, nil
}

// checkHeader returns the file name h stands for, or why it has no place in the layer.
func (s spec) checkHeader(h *tar.Header, want []string, seen map[string]bool) (string, error) {
	name := strings.TrimPrefix(h.Name, "./")
	if !slices.Contains(want, name) {
		return "", fmt.Errorf("unexpected entry %q (a Trivy %s layer holds only %s)", h.Name, s.dir, strings.Join(want, " and "))
	}
	if h.Typeflag != tar.TypeReg { // the reader reports old tars' TypeRegA files as TypeReg
		return "", fmt.Errorf("entry %q is not a regular file (type %q)", h.Name, h.Typeflag)
	}
	if seen[name] {
		return "", fmt.Errorf("entry %q appears twice", h.Name)
	}
	seen[name] = true
	limit := int64(MaxDBFileSize)
	if name == metadataFile {
		limit = MaxMetadataSize
	}
	if h.Size < 0 || h.Size > limit {
		return "", fmt.Errorf("entry %q is %d bytes (at most %d)", h.Name, h.Size, limit)
	}
	if name == s.dbFile && h.Size == 0 {
		return "", fmt.Errorf("entry %q is empty", h.Name)
	}
	return name, nil
}

// parseMetadata reads Trivy's metadata.json and checks it is for this kind's schema.
func (s spec) parseMetadata(b []byte) (payload.ScanDBMetadata, error) {
	m, err := parseMetadata(b)
	if err != nil {
		return m, err
	}
	if m.Version != s.schema {
		return payload.ScanDBMetadata{}, fmt.Errorf("metadata.json: schema version %d, Harbor's Trivy reads %d (the %s tag)", m.Version, s.schema, s.defaultRef)
	}
	return m, nil
}

// parseMetadata reads metadata.json as Trivy writes it: UpdatedAt and NextUpdate RFC 3339 times,
// DownloadedAt one too or absent.
func parseMetadata(b []byte) (payload.ScanDBMetadata, error) {
	var raw struct {
		Version                             int
		NextUpdate, UpdatedAt, DownloadedAt string
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return payload.ScanDBMetadata{}, fmt.Errorf("metadata.json is not Trivy's metadata: %w", err)
	}
	m := payload.ScanDBMetadata{Version: raw.Version, NextUpdate: raw.NextUpdate, UpdatedAt: raw.UpdatedAt, DownloadedAt: raw.DownloadedAt}
	for _, f := range []struct{ name, v string }{{"UpdatedAt", m.UpdatedAt}, {"NextUpdate", m.NextUpdate}, {"DownloadedAt", m.DownloadedAt}} {
		if f.v == "" && f.name == "DownloadedAt" {
			continue
		}
		if _, err := ParseTime(f.v); err != nil {
			return payload.ScanDBMetadata{}, fmt.Errorf("metadata.json: %s: %w", f.name, err)
		}
	}
	return m, nil
}
