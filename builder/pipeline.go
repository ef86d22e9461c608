package builder

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/progress"
)

// The pipeline moves blobs from the registry into the cache with Jobs downloads at a time, in
// payload order, so the first images are ready first; recompression workers follow the same
// order one step behind; the writer takes the images in order as each becomes ready. So the
// payload is written while later blobs download and compress, and the output is the same
// whatever the timing.

// blobTask is one distinct blob to have in the cache.
type blobTask struct {
	digest v1.Hash
	size   int64
	repo   name.Repository // where to fetch it: the first image that has it
	owner  int             // that image's index, whose progress streams the download
	layer  *layerTask      // the layer this blob is, nil for a config
	done   chan struct{}
	err    error
}

// layerTask is one distinct layer in the form the payload stores it (recompressed or as pulled).
type layerTask struct {
	blob   *blobTask
	config *blobTask // config of the first image that has the layer: it gives the diff ID
	index  int       // position of the layer in that image
	src    *cachedLayer
	// measured is the layer's uncompressed size and sha256 when its download measured them.
	measured *Uncompressed
	done     chan struct{}
	out      *cachedLayer
	err      error
}

// imageJob is one image: its blobs, and the cached image once they are all in place.
type imageJob struct {
	ri     *remoteImage
	task   string // progress task name
	config *blobTask
	layers []*layerTask
	ready  chan struct{}
	img    v1.Image
	err    error
}

type pipeline struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	s      *settings
	client *registryClient
	cache  *Cache
	rep    progress.Reporter
	jobs   []*imageJob
	blobs  []*blobTask
	layers []*layerTask
	wg     sync.WaitGroup

	configMu sync.Mutex
	configs  map[v1.Hash]*v1.ConfigFile
}

// newPipeline lays out the tasks of the resolved images; nothing runs until start.
func newPipeline(ctx context.Context, s *settings, client *registryClient, cache *Cache, images []*remoteImage) *pipeline {
	p := &pipeline{s: s, client: client, cache: cache, rep: s.Progress, configs: map[v1.Hash]*v1.ConfigFile{}}
	p.ctx, p.cancel = context.WithCancelCause(ctx)
	blobs := map[v1.Hash]*blobTask{}
	layers := map[v1.Hash]*layerTask{}
	blob := func(i int, ri *remoteImage, d v1.Descriptor) *blobTask {
		if b, ok := blobs[d.Digest]; ok {
			return b
		}
		b := &blobTask{digest: d.Digest, size: d.Size, repo: ri.ref.Context(), owner: i, done: make(chan struct{})}
		blobs[d.Digest] = b
		p.blobs = append(p.blobs, b)
		return b
	}
	for i, ri := range images {
		job := &imageJob{ri: ri, task: ri.image.Ref(), ready: make(chan struct{})}
		job.config = blob(i, ri, ri.manifest.Config)
		for k, d := range ri.manifest.Layers {
			b := blob(i, ri, d)
			lt, ok := layers[d.Digest]
			if !ok {
				lt = &layerTask{blob: b, config: job.config, index: k, done: make(chan struct{}),
					src: &cachedLayer{path: cache.Path(d.Digest), digest: d.Digest, size: d.Size, mediaType: d.MediaType, usize: -1}}
				layers[d.Digest] = lt
				p.layers = append(p.layers, lt)
				b.layer = lt
			}
			job.layers = append(job.layers, lt)
		}
		p.jobs = append(p.jobs, job)
	}
	return p
}

// start launches the downloads, the recompression and one assembler per image.
func (p *pipeline) start() {
	for _, job := range p.jobs {
		p.rep.Start(job.task, p.progressTotal(job))
	}
	var next atomic.Int64
	for range min(p.s.Jobs, len(p.blobs)) {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for i := next.Add(1) - 1; i < int64(len(p.blobs)); i = next.Add(1) - 1 {
				p.download(p.blobs[i])
			}
		}()
	}
	var nextLayer atomic.Int64
	for range min(p.compressWorkers(), len(p.layers)) {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for i := nextLayer.Add(1) - 1; i < int64(len(p.layers)); i = nextLayer.Add(1) - 1 {
				p.convert(p.layers[i])
			}
		}()
	}
	for i, job := range p.jobs {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.assemble(i, job)
		}()
	}
}

// compressWorkers is one per CPU (recompression is CPU-bound; each encoder also uses two
// goroutines, which fills the gaps while a worker waits for its next blob), and no more than
// the encoders payload's memory budget holds at the level: --level max runs one.
func (p *pipeline) compressWorkers() int {
	if p.s.Compression != "zstd" {
		return max(1, runtime.GOMAXPROCS(0))
	}
	return payload.Encoders(payload.Level(p.s.Level))
}

// stop cancels whatever still runs and waits for it, so no goroutine touches the cache after
// Build returns.
func (p *pipeline) stop() {
	p.cancel(context.Canceled)
	p.wg.Wait()
}

func (p *pipeline) fail(err error) { p.cancel(err) }

// progressTotal is what an image's progress bar counts: its blobs downloaded (or found), plus,
// with zstd, its layers recompressed.
func (p *pipeline) progressTotal(job *imageJob) int64 {
	total := job.config.size
	for _, l := range job.layers {
		total += l.blob.size
		if p.s.Compression == "zstd" {
			total += l.blob.size
		}
	}
	return total
}

func (p *pipeline) download(b *blobTask) {
	defer close(b.done)
	task := p.jobs[b.owner].task
	count := func(n int64) { p.rep.Add(task, n) }
	if p.recompressedBefore(b) {
		count(b.size)
		return
	}
	fetch := p.client.blobFetcher(b.repo, b.digest)
	if p.measuredWhileFetched(b) {
		b.layer.measured, b.err = p.cache.EnsureLayer(p.ctx, b.digest, b.size, fetch, count)
	} else {
		b.err = p.cache.Ensure(p.ctx, b.digest, b.size, fetch, count)
	}
	if b.err != nil {
		b.err = &PullError{Ref: p.jobs[b.owner].ri.image.Ref(), Err: fmt.Errorf("blob %s: %w", b.digest, b.err)}
		p.fail(b.err)
	}
}

// measuredWhileFetched reports whether layer blob b goes into the payload as it is pulled (keep,
// or a layer in zstd already), so the payload needs its uncompressed size: then the download
// measures it in the same pass that checks the digest. A layer to recompress is measured by
// its recompression instead, which reads the uncompressed content anyway.
func (p *pipeline) measuredWhileFetched(b *blobTask) bool {
	return b.layer != nil && (p.s.Compression != "zstd" || b.layer.src.mediaType == types.OCILayerZStd)
}

// recompressedBefore reports whether the zstd form of layer blob b is in the cache already, in
// which case the pulled blob is not needed at all (nor read, nor checked): a warm rebuild then
// touches only what goes into the payload. It sets the layer's result when it is.
func (p *pipeline) recompressedBefore(b *blobTask) bool {
	l := b.layer
	if l == nil || p.s.Compression != "zstd" || l.src.mediaType == types.OCILayerZStd {
		return false
	}
	// The config comes before its layers in download order, so this never waits on itself.
	if err := p.setDiffID(l); err != nil {
		return false
	}
	out, err := p.cache.lookupZstd(l.src, p.s.Level)
	if err != nil || out == nil {
		return false
	}
	l.out = out
	return true
}

func (p *pipeline) convert(l *layerTask) {
	defer close(l.done)
	if l.err = p.wait(l.blob.done, &l.blob.err); l.err != nil {
		return
	}
	if l.out != nil { // found recompressed in the cache
		return
	}
	if l.err = p.setDiffID(l); l.err != nil {
		return
	}
	// A measurement that disagrees with the config leaves the size unknown: the payload writer
	// then measures the layer itself and reports what it finds (a layer that does not match its
	// image, or a damaged record of an earlier measurement, which this overrides).
	if m := l.measured; m != nil && m.DiffID == l.src.diffID {
		l.src.usize = m.Size
	}
	if p.s.Compression != "zstd" {
		l.out = l.src
		return
	}
	l.out, l.err = p.cache.recompressed(p.ctx, l.src, p.s.Level)
	if l.err != nil {
		p.fail(l.err)
	}
}

// setDiffID takes the layer's diff ID from the config of the first image that has it.
func (p *pipeline) setDiffID(l *layerTask) error {
	cfg, err := p.config(l.config)
	if err != nil {
		return err
	}
	if l.index >= len(cfg.RootFS.DiffIDs) {
		err := fmt.Errorf("config %s lists %d diff IDs, fewer than its manifest's layers", l.config.digest, len(cfg.RootFS.DiffIDs))
		p.fail(err)
		return err
	}
	l.src.diffID = cfg.RootFS.DiffIDs[l.index]
	return nil
}

// config returns the parsed config blob b once it is in the cache (parsed once per build).
func (p *pipeline) config(b *blobTask) (*v1.ConfigFile, error) {
	if err := p.wait(b.done, &b.err); err != nil {
		return nil, err
	}
	p.configMu.Lock()
	defer p.configMu.Unlock()
	if cf, ok := p.configs[b.digest]; ok {
		return cf, nil
	}
	raw, err := readBlob(p.cache.Path(b.digest), b.size)
	if err != nil {
		return nil, err
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		err = fmt.Errorf("parsing image config %s: %w", b.digest, err)
		p.fail(err)
		return nil, err
	}
	p.configs[b.digest] = cf
	return cf, nil
}

// wait blocks until done is closed or the build is cancelled, and returns *err or the cause.
func (p *pipeline) wait(done chan struct{}, err *error) error {
	select {
	case <-done:
		return *err
	case <-p.ctx.Done():
		return context.Cause(p.ctx)
	}
}

// assemble waits for an image's blobs and layers, counting the progress of blobs another image
// downloaded, then builds the image from the cache.
func (p *pipeline) assemble(i int, job *imageJob) {
	defer close(job.ready)
	defer func() {
		err := job.err
		if p.ctx.Err() != nil {
			err = nil // stopped because the build failed elsewhere: that error is reported once, by Build
		}
		p.rep.Done(job.task, err)
	}()
	blobs := []*blobTask{job.config}
	for _, l := range job.layers {
		blobs = append(blobs, l.blob)
	}
	for _, b := range blobs {
		if job.err = p.wait(b.done, &b.err); job.err != nil {
			return
		}
		if b.owner != i {
			p.rep.Add(job.task, b.size)
		}
	}
	for _, l := range job.layers {
		if job.err = p.wait(l.done, &l.err); job.err != nil {
			return
		}
		if p.s.Compression == "zstd" {
			p.rep.Add(job.task, l.blob.size)
		}
	}
	job.img, job.err = p.image(job)
	if job.err != nil {
		p.fail(job.err)
	}
}
