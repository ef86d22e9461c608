package fakeharbor

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/harborbundle/bundle/internal/atomicfile"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// epoch is the fixed time stamped on every file and config, so the same inputs give the same
// digests. It is near Harbor 1.10.0's release.
var epoch = time.Date(2019, 12, 13, 0, 0, 0, 0, time.UTC)

// layerVersion changes whenever the bytes a spec produces change, so cached layers are rebuilt.
const layerVersion = "fakeharbor-layer-v1"

// entry is one file or directory of a layer. Its content is exactly one of Data, generated
// content (Kind, Size, Seed) or the file at Source (whose sha256 is SourceSum, for the cache key).
type entry struct {
	Path      string `json:"p"`
	Mode      int64  `json:"m"`
	UID       int    `json:"u,omitempty"`
	GID       int    `json:"g,omitempty"`
	Dir       bool   `json:"d,omitempty"`
	Link      string `json:"l,omitempty"` // a symlink to this target
	Data      []byte `json:"data,omitempty"`
	Kind      int    `json:"k,omitempty"`
	Size      int64  `json:"s,omitempty"`
	Seed      string `json:"seed,omitempty"`
	Source    string `json:"-"`
	SourceSum string `json:"src,omitempty"`
}

// layerSpec describes a layer completely: its cache key is the hash of the spec.
type layerSpec struct {
	Entries []entry `json:"e"`
}

func (s *layerSpec) key() string {
	b, _ := json.Marshal(s)
	h := sha256.Sum256(append([]byte(layerVersion+"\x00"), b...))
	return hex.EncodeToString(h[:])
}

// addDirs adds the missing parent directories of every entry (root-owned, 0755), then sorts
// the entries by path so the tar lists parents first.
func (s *layerSpec) addDirs() {
	have := map[string]bool{}
	for _, e := range s.Entries {
		have[e.Path] = true
	}
	for _, e := range s.Entries {
		for d := path.Dir(e.Path); d != "." && d != "/" && !have[d]; d = path.Dir(d) {
			have[d] = true
			s.Entries = append(s.Entries, entry{Path: d, Mode: 0o755, Dir: true})
		}
	}
	sort.Slice(s.Entries, func(i, j int) bool { return s.Entries[i].Path < s.Entries[j].Path })
}

// fileLayer is a gzip layer stored in the cache directory, with its digests known, so nothing
// of it is held in memory and nothing is recomputed when it is served or saved.
type fileLayer struct {
	path   string
	digest v1.Hash
	diffID v1.Hash
	size   int64
	usize  int64 // uncompressed, the size of layer.tar in a docker save
}

type layerMeta struct {
	Digest string `json:"digest"`
	DiffID string `json:"diffID"`
	Size   int64  `json:"size"`
	USize  int64  `json:"uncompressedSize"`
}

// UncompressedSize is the size of the layer's tar.
func (l *fileLayer) UncompressedSize() int64 { return l.usize }

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return types.DockerLayer, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading cached layer %s: %w", l.path, err)
	}
	return readCloser{zr, func() error { zr.Close(); return f.Close() }}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// cachedLayer returns the layer for spec from dir, generating it first when absent.
func cachedLayer(dir string, spec *layerSpec) (*fileLayer, error) {
	key := spec.key()
	base := filepath.Join(dir, "layers", key)
	if l, err := readLayerMeta(base); err == nil {
		return l, nil
	}
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return nil, fmt.Errorf("creating layer cache: %w", err)
	}
	l, err := writeLayer(base, spec)
	if err != nil {
		return nil, fmt.Errorf("generating layer %s: %w", key[:12], err)
	}
	return l, nil
}

func readLayerMeta(base string) (*fileLayer, error) {
	b, err := os.ReadFile(base + ".json")
	if err != nil {
		return nil, err
	}
	var m layerMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	fi, err := os.Stat(base + ".tar.gz")
	if err != nil || fi.Size() != m.Size {
		return nil, fmt.Errorf("cached layer %s is incomplete", base)
	}
	digest, err := v1.NewHash(m.Digest)
	if err != nil {
		return nil, err
	}
	diffID, err := v1.NewHash(m.DiffID)
	if err != nil {
		return nil, err
	}
	return &fileLayer{path: base + ".tar.gz", digest: digest, diffID: diffID, size: m.Size, usize: m.USize}, nil
}

// writeLayer streams the tar through gzip into a temporary file, hashing both sides on the way,
// then renames it into place; the metadata file is written last, so a crash leaves no layer
// that looks complete.
func writeLayer(base string, spec *layerSpec) (*fileLayer, error) {
	f, err := os.CreateTemp(filepath.Dir(base), "tmp-layer-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	digest, diffID := sha256.New(), sha256.New()
	counter, ucounter := &countWriter{}, &countWriter{}
	bw := bufio.NewWriterSize(io.MultiWriter(f, digest, counter), 1<<20)
	zw, err := gzip.NewWriterLevel(bw, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if err := writeTar(io.MultiWriter(zw, diffID, ucounter), spec); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	l := &fileLayer{
		path:   base + ".tar.gz",
		digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(digest.Sum(nil))},
		diffID: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(diffID.Sum(nil))},
		size:   counter.n,
		usize:  ucounter.n,
	}
	if err := os.Rename(f.Name(), l.path); err != nil {
		return nil, err
	}
	meta, _ := json.Marshal(layerMeta{Digest: l.digest.String(), DiffID: l.diffID.String(), Size: l.size, USize: l.usize})
	return l, atomicfile.Write(base+".json", meta, 0o644)
}

func writeTar(w io.Writer, spec *layerSpec) error {
	tw := tar.NewWriter(w)
	for _, e := range spec.Entries {
		hdr := &tar.Header{Name: e.Path, Mode: e.Mode, Uid: e.UID, Gid: e.GID, ModTime: epoch, Format: tar.FormatPAX}
		if e.Dir {
			hdr.Typeflag, hdr.Name = tar.TypeDir, e.Path+"/"
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			continue
		}
		if e.Link != "" {
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, e.Link, 0o777
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			continue
		}
		hdr.Typeflag = tar.TypeReg
		if err := writeEntry(tw, hdr, e); err != nil {
			return fmt.Errorf("writing %s: %w", e.Path, err)
		}
	}
	return tw.Close()
}

func writeEntry(tw *tar.Writer, hdr *tar.Header, e entry) error {
	switch {
	case e.Source != "":
		f, err := os.Open(e.Source)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		hdr.Size = fi.Size()
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		return err
	case e.Seed != "":
		hdr.Size = e.Size
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		return newGenerator(e.Seed).write(tw, contentKind(e.Kind), e.Size)
	default:
		hdr.Size = int64(len(e.Data))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(e.Data)
		return err
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
