package builder

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/harborbundle/bundle/payload"
)

// zstdRecord is what the cache remembers of a layer recompressed to zstd, keyed by the source
// blob's digest and the level: the zstd blob itself lives among the other blobs.
type zstdRecord struct {
	Digest           string `json:"digest"`
	Size             int64  `json:"size"`
	DiffID           string `json:"diffID"`
	UncompressedSize int64  `json:"uncompressedSize"`
}

func (c *Cache) zstdRecordPath(level string, src v1.Hash) string {
	return filepath.Join(c.dir, "zstd", level, src.Hex+".json")
}

// recompressed returns src (a cached layer) recompressed to zstd at level: from the cache when
// an earlier build made it and its blob still checks out, else compressed now (with payload's
// encoder, so the bytes are those payload.ZstdLayer makes) and cached.
func (c *Cache) recompressed(ctx context.Context, src *cachedLayer, level string) (*cachedLayer, error) {
	if src.mediaType == types.OCILayerZStd {
		return src, nil
	}
	key := "zstd " + level + " " + src.digest.String()
	var out *cachedLayer
	leader, err := c.flight.do(ctx, key, func() error {
		var err error
		out, err = c.recompress(ctx, src, level)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !leader { // the leader left its record; read it back
		if out, err = c.lookupZstd(src, level); err != nil || out == nil {
			return nil, fmt.Errorf("recompressing layer %s: record missing after compression: %v", src.digest, err)
		}
	}
	return out, nil
}

func (c *Cache) recompress(ctx context.Context, src *cachedLayer, level string) (*cachedLayer, error) {
	if l, err := c.lookupZstd(src, level); err == nil && l != nil {
		return l, nil
	}
	// The spool dir lives until Close: the payload writer reads the layer from it.
	dir, err := os.MkdirTemp(c.tmp, "zstd-")
	if err != nil {
		return nil, err
	}
	z, err := payload.ZstdLayer(&ctxLayer{cachedLayer: src, ctx: ctx}, payload.Level(level), dir)
	if err != nil {
		return nil, fmt.Errorf("recompressing layer %s: %w", src.digest, err)
	}
	rec, err := recordOf(z)
	if err != nil {
		return nil, err
	}
	h, _ := v1.NewHash(rec.Digest)
	if err := c.adopt(ctx, z, h, rec.Size); err != nil {
		return nil, fmt.Errorf("caching recompressed layer %s: %w", src.digest, err)
	}
	c.markVerified(h)
	c.compressed.Add(1)
	body, _ := json.Marshal(rec)
	if err := writeUnsynced(c.tmp, c.zstdRecordPath(level, src.digest), body); err != nil {
		return nil, fmt.Errorf("caching recompressed layer %s: %w", src.digest, err)
	}
	out := &cachedLayer{path: c.Path(h), digest: h, diffID: src.diffID, size: rec.Size, mediaType: types.OCILayerZStd, usize: rec.usize()}
	out.fresh = z
	return out, nil
}

// adopt puts the layer payload's encoder just spooled into the cache. The spool file is in our
// temp dir, so a hard link does it without copying; its digest was computed by the encoder from
// the very bytes it wrote, so it is not read again (nor synced: Close syncs the file system
// once). Anything else is copied (and checked) through store.
func (c *Cache) adopt(ctx context.Context, z v1.Layer, h v1.Hash, size int64) error {
	rc, err := z.Compressed()
	if err != nil {
		return err
	}
	if f, ok := rc.(*os.File); ok {
		f.Close()
		tmp := filepath.Join(c.tmp, "link-"+h.Hex)
		if err := os.Link(f.Name(), tmp); err == nil {
			if err = os.Rename(tmp, c.Path(h)); err == nil {
				return nil
			}
			os.Remove(tmp)
		}
	} else {
		rc.Close()
	}
	_, _, err = c.store(ctx, h, size, func(context.Context) (io.ReadCloser, error) { return z.Compressed() }, func(int64) {}, false)
	return err
}

func (r zstdRecord) usize() int64 {
	if r.UncompressedSize <= 0 {
		return -1
	}
	return r.UncompressedSize
}

func recordOf(z v1.Layer) (zstdRecord, error) {
	d, err := z.Digest()
	if err != nil {
		return zstdRecord{}, err
	}
	size, err := z.Size()
	if err != nil {
		return zstdRecord{}, err
	}
	diffID, err := z.DiffID()
	if err != nil {
		return zstdRecord{}, err
	}
	rec := zstdRecord{Digest: d.String(), Size: size, DiffID: diffID.String()}
	if us, ok := z.(interface{ UncompressedSize() (int64, error) }); ok {
		rec.UncompressedSize, _ = us.UncompressedSize()
	}
	return rec, nil
}

// lookupZstd returns the cached zstd form of src, or nil when there is none that checks out.
func (c *Cache) lookupZstd(src *cachedLayer, level string) (*cachedLayer, error) {
	body, err := os.ReadFile(c.zstdRecordPath(level, src.digest))
	if err != nil {
		return nil, nil
	}
	var rec zstdRecord
	if json.Unmarshal(body, &rec) != nil || rec.DiffID != src.diffID.String() {
		return nil, nil
	}
	h, err := v1.NewHash(rec.Digest)
	if err != nil {
		return nil, nil
	}
	if !c.isVerified(h) {
		ok, _, err := checkFile(c.Path(h), h, rec.Size, false)
		if !ok {
			if err == nil {
				c.corrupt.Add(1)
				os.Remove(c.Path(h))
			}
			return nil, nil
		}
		c.markVerified(h)
		c.reused.Add(1)
	}
	return &cachedLayer{path: c.Path(h), digest: h, diffID: src.diffID, size: rec.Size, mediaType: types.OCILayerZStd, usize: rec.usize()}, nil
}

// ctxLayer stops a long recompression when the build is cancelled.
type ctxLayer struct {
	*cachedLayer
	ctx context.Context
}

func (l *ctxLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.cachedLayer.Uncompressed()
	if err != nil {
		return nil, err
	}
	return &ctxReader{ReadCloser: rc, ctx: l.ctx}, nil
}

type ctxReader struct {
	io.ReadCloser
	ctx context.Context
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.ReadCloser.Read(p)
}
