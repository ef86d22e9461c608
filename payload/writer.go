package payload

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/harborbundle/bundle/progress"
)

// WriterOptions configures a Writer.
type WriterOptions struct {
	// Compression is "keep" (store layers as given) or "zstd" (recompress every layer that is not
	// zstd already). The default ("") is "zstd", the product's default.
	Compression string
	// Level is the zstd level; the default ("") is LevelDefault.
	Level Level
	// OCIManifests stores Docker schema 2 manifests as OCI manifests (same config and layer bytes,
	// so the same image IDs; other manifest digests) so that skopeo 1.9 reads the extracted
	// layout. With zstd the manifests are always OCI. The default keeps "keep" faithful.
	OCIManifests bool
	// SpoolDir holds layers while they are recompressed; default os.TempDir(). Each spool file is
	// removed once its blob is in the payload.
	SpoolDir string
	// BuildTime is every entry's ModTime and the manifest's Builder.BuildTime (truncated to the
	// second, UTC). The default (zero) is the Unix epoch, so output never depends on the clock.
	BuildTime time.Time
	// Progress receives one task per image (total: its stored size). Default: discard.
	Progress progress.Reporter
}

// Writer streams a payload: installer files and images first, in the order added, then the OCI
// layout's oci-layout and index.json, then manifest.yaml. It buffers no blob in memory.
type Writer struct {
	opts    WriterOptions
	cw      *countingWriter
	bw      *bufio.Writer
	tw      *tar.Writer
	modTime time.Time
	buf     []byte

	entries []Entry
	paths   map[string]bool
	blobs   map[string]LayerInfo // by digest: layers (and configs, manifests) already written
	images  []Image
	index   []v1.Descriptor
	zcache  map[v1.Hash]*zstdLayer

	err    error // sticky: once the tar stream is broken, nothing more can be written
	closed bool
}

// Summary is what the trailer needs: where the manifest's data is, its length and sha256, and the
// payload's total length.
type Summary struct {
	Manifest       *Manifest
	ManifestOffset int64 // of manifest.yaml's data, from the payload's first byte
	ManifestLength int64
	ManifestSHA256 [32]byte
	Length         int64 // bytes written in all
}

// NewWriter returns a Writer writing the payload to w. Invalid options are reported by the first
// call on the Writer.
func NewWriter(w io.Writer, opts WriterOptions) *Writer {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 256<<10)
	pw := &Writer{
		opts: opts, cw: cw, bw: bw, tw: tar.NewWriter(bw), buf: make([]byte, copyBufferSize),
		paths: map[string]bool{}, blobs: map[string]LayerInfo{}, zcache: map[v1.Hash]*zstdLayer{},
	}
	pw.opts.Progress = progress.Or(opts.Progress)
	pw.modTime = time.Unix(0, 0).UTC()
	if !opts.BuildTime.IsZero() {
		pw.modTime = opts.BuildTime.UTC().Truncate(time.Second)
	}
	pw.err = pw.normalizeOptions()
	return pw
}

func (w *Writer) normalizeOptions() error {
	switch w.opts.Compression {
	case "", "zstd":
		w.opts.Compression = "zstd"
		lvl, err := w.opts.Level.normalize()
		w.opts.Level = lvl
		return err
	case "keep":
		if w.opts.Level != "" {
			return fmt.Errorf("compression keep takes no level, got %q", w.opts.Level)
		}
		return nil
	}
	return fmt.Errorf("unknown compression %q (want keep or zstd)", w.opts.Compression)
}

// written is the number of bytes the tar stream has produced so far (buffered or not).
func (w *Writer) written() int64 { return w.cw.n + int64(w.bw.Buffered()) }

// AddFile adds an installer file; name must be a clean path under "installer/" and r must yield
// exactly size bytes. Only the permission bits of mode are kept.
func (w *Writer) AddFile(name string, mode fs.FileMode, size int64, r io.Reader) error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := checkName(name); err != nil || !strings.HasPrefix(name, "installer/") {
		return fmt.Errorf("adding %q: name must be a clean relative path under installer/", name)
	}
	if !mode.IsRegular() || size < 0 {
		return fmt.Errorf("adding %s: only regular files of known size can be added", name)
	}
	for d := name; d != "installer"; d = d[:strings.LastIndexByte(d, '/')] {
		if w.paths[d] {
			return fmt.Errorf("adding %s: %s is already a file", name, d)
		}
	}
	for p := range w.paths {
		if strings.HasPrefix(p, name+"/") {
			return fmt.Errorf("adding %s: it is already the directory of %s", name, p)
		}
	}
	_, err := w.addEntry(name, uint32(mode.Perm()), size, r, "", nil)
	return err
}

func (w *Writer) usable() error {
	if w.closed {
		return errors.New("payload writer is closed")
	}
	return w.err
}

// addEntry writes one regular file entry of exactly size bytes from r, hashing it, and records it.
// A non-empty wantHex is the sha256 the content must have; extra also receives the content.
// Any failure after the header is written breaks the stream for good.
func (w *Writer) addEntry(name string, mode uint32, size int64, r io.Reader, wantHex string, extra io.Writer) (Entry, error) {
	return w.writeEntry(name, mode, size, r, wantHex, false, extra)
}

// addChecked is addEntry for content already checked against its sha256 wantHex by whoever
// hands it over (see DigestChecked): it is not hashed again.
func (w *Writer) addChecked(name string, mode uint32, size int64, r io.Reader, wantHex string, extra io.Writer) (Entry, error) {
	return w.writeEntry(name, mode, size, r, wantHex, true, extra)
}

func (w *Writer) writeEntry(name string, mode uint32, size int64, r io.Reader, wantHex string, checked bool, extra io.Writer) (Entry, error) {
	if w.paths[name] {
		return Entry{}, fmt.Errorf("writing %s: already in the payload", name)
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: int64(mode), ModTime: w.modTime, Format: tar.FormatPAX}
	if err := w.tw.WriteHeader(hdr); err != nil {
		w.err = fmt.Errorf("writing payload: %w", err)
		return Entry{}, w.err
	}
	e := Entry{Path: name, Size: size, Offset: w.written(), Mode: mode}
	checked = checked && wantHex != ""
	dsts := []io.Writer{w.tw}
	var h *countingHash
	if !checked {
		h = &countingHash{Hash: sha256.New()}
		dsts = append(dsts, h)
	}
	if extra != nil {
		dsts = append(dsts, extra)
	}
	dst := dsts[0]
	if len(dsts) > 1 {
		dst = io.MultiWriter(dsts...)
	}
	n, err := io.CopyBuffer(dst, io.LimitReader(r, size), w.buf)
	if err == nil && n < size {
		err = fmt.Errorf("source ended after %d of %d bytes", n, size)
	}
	if err == nil && !checked && wantHex != "" && h.hex() != wantHex {
		err = fmt.Errorf("content has sha256:%s, not sha256:%s as the image says", h.hex(), wantHex)
	}
	if err != nil {
		w.err = fmt.Errorf("writing %s: %w", name, err)
		return Entry{}, w.err
	}
	e.SHA256 = wantHex
	if !checked {
		e.SHA256 = h.hex()
	}
	w.paths[name] = true
	w.entries = append(w.entries, e)
	return e, nil
}

// Close writes the OCI layout's index.json and oci-layout, then manifest.yaml built from m, and
// ends the tar. The Writer fills m's SchemaVersion, Images, Entries, Compression and
// Builder.BuildTime (which must be zero or equal WriterOptions.BuildTime).
func (w *Writer) Close(m Manifest) (Summary, error) {
	defer w.removeSpool()
	if err := w.usable(); err != nil {
		return Summary{}, err
	}
	w.closed = true
	if !m.Builder.BuildTime.IsZero() && !m.Builder.BuildTime.UTC().Truncate(time.Second).Equal(w.modTime) {
		return Summary{}, errors.New("closing payload: manifest build time differs from WriterOptions.BuildTime")
	}
	if err := w.writeLayout(); err != nil {
		return Summary{}, err
	}
	m.SchemaVersion = SchemaVersion
	m.Builder.BuildTime = w.modTime
	m.Compression = Compression{Algorithm: w.opts.Compression, Level: string(w.opts.Level)}
	m.Images = append([]Image(nil), w.images...)
	sort.Slice(m.Images, func(i, j int) bool { return m.Images[i].Ref < m.Images[j].Ref })
	m.Entries = append([]Entry(nil), w.entries...)
	body, err := m.Marshal()
	if err != nil {
		return Summary{}, err
	}
	e, err := w.addEntry(ManifestName, 0o644, int64(len(body)), strings.NewReader(string(body)), "", nil)
	if err != nil {
		return Summary{}, err
	}
	if err := w.tw.Close(); err != nil {
		return Summary{}, fmt.Errorf("writing payload: %w", err)
	}
	if err := w.bw.Flush(); err != nil {
		return Summary{}, fmt.Errorf("writing payload: %w", err)
	}
	return Summary{Manifest: &m, ManifestOffset: e.Offset, ManifestLength: e.Size, ManifestSHA256: sha256.Sum256(body), Length: w.cw.n}, nil
}

// writeLayout writes images/oci-layout and images/index.json, one descriptor per image sorted by
// reference, each naming its reference as skopeo and crane expect.
func (w *Writer) writeLayout() error {
	layout := []byte(`{"imageLayoutVersion":"1.0.0"}`)
	if _, err := w.addEntry("images/oci-layout", 0o644, int64(len(layout)), strings.NewReader(string(layout)), "", nil); err != nil {
		return fmt.Errorf("writing images/oci-layout: %w", err)
	}
	descs := append([]v1.Descriptor{}, w.index...)
	sort.Slice(descs, func(i, j int) bool {
		return descs[i].Annotations[refAnnotation] < descs[j].Annotations[refAnnotation]
	})
	idx, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: descs})
	if err != nil {
		return fmt.Errorf("encoding images/index.json: %w", err)
	}
	if _, err := w.addEntry("images/index.json", 0o644, int64(len(idx)), strings.NewReader(string(idx)), "", nil); err != nil {
		return fmt.Errorf("writing images/index.json: %w", err)
	}
	return nil
}

// refAnnotation names an image in an OCI layout (skopeo oci:DIR:REF, crane).
const refAnnotation = "org.opencontainers.image.ref.name"

// removeSpool deletes the layers this Writer recompressed; their blobs are in the payload.
func (w *Writer) removeSpool() {
	for _, z := range w.zcache {
		os.Remove(z.path)
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
