package fakeharbor

import (
	"bytes"
	"context"
	"io"
	"os"
	"sync"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// blobStore is the registry's blob storage: the cached layer files, served in place, and the
// small blobs pushed by clients (configs, test images) in memory.
type blobStore struct {
	mu    sync.RWMutex
	files map[v1.Hash]*fileLayer
	mem   map[v1.Hash][]byte
}

func newBlobStore() *blobStore {
	return &blobStore{files: map[v1.Hash]*fileLayer{}, mem: map[v1.Hash][]byte{}}
}

func (b *blobStore) addFile(l *fileLayer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.files[l.digest] = l
}

func (b *blobStore) Stat(_ context.Context, _ string, h v1.Hash) (int64, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if l, ok := b.files[h]; ok {
		return l.size, nil
	}
	if data, ok := b.mem[h]; ok {
		return int64(len(data)), nil
	}
	return 0, registry.ErrNotFound
}

func (b *blobStore) Get(_ context.Context, _ string, h v1.Hash) (io.ReadCloser, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if l, ok := b.files[h]; ok {
		return os.Open(l.path)
	}
	if data, ok := b.mem[h]; ok {
		return io.NopCloser(bytes.NewReader(data)), nil
	}
	return nil, registry.ErrNotFound
}

func (b *blobStore) Put(_ context.Context, _ string, h v1.Hash, rc io.ReadCloser) error {
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mem[h] = data
	return nil
}

func (b *blobStore) Delete(_ context.Context, _ string, h v1.Hash) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.mem[h]; !ok {
		return registry.ErrNotFound
	}
	delete(b.mem, h)
	return nil
}
