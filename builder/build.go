package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/progress"
	"github.com/harborbundle/bundle/selfextract"
	"golang.org/x/sync/errgroup"
)

// Build makes the bundle opts describe and returns what it wrote. Bad input is an *InputError,
// reported before anything is written; a pull that fails for good is a *PullError naming the
// image. Whatever happens, no partial file is left under the output's name.
func Build(ctx context.Context, opts Options) (*Result, error) {
	began := time.Now()
	defer limitMemory()()
	s, err := resolveOptions(opts)
	if err != nil {
		return nil, err
	}
	if s.TrivyDBOnly {
		return buildScanDBOnly(ctx, s, began)
	}
	p, err := makePlan(s)
	if err != nil {
		return nil, err
	}
	if err := checkOutput(p.output, s); err != nil {
		return nil, err
	}
	stub, err := stubPath(s)
	if err != nil {
		return nil, err
	}
	src, err := installerSource(s, p.release)
	if err != nil {
		return nil, err
	}
	client, err := newRegistryClient(s)
	if err != nil {
		return nil, err
	}
	images, err := resolveAll(ctx, s, client, p)
	if err != nil {
		return nil, err
	}
	cache, err := OpenCache(s.CacheDir, 4, s.RetryDelay)
	if err != nil {
		return nil, err
	}
	defer cache.Close()
	if p.scanDBs, err = pullScanDBs(ctx, s, client, cache); err != nil {
		return nil, err
	}
	var inst *installer
	if len(p.hops) > 0 {
		if err := fetchHopInstallers(ctx, s, cache, p); err != nil {
			return nil, err
		}
		inst = p.hops[len(p.hops)-1].inst
	} else if inst, err = fetchInstaller(ctx, s, cache, p.release, src); err != nil {
		return nil, err
	}
	res, err := write(ctx, s, p, client, cache, images, inst, stub)
	if err != nil {
		return nil, err
	}
	res.Cache = cache.Stats()
	res.Seconds = time.Since(began).Seconds()
	return res, nil
}

// checkOutput refuses an existing output (or part of it) unless --force, and a missing
// directory, before any work.
func checkOutput(out string, s *settings) error {
	if st, err := os.Stat(filepath.Dir(out)); err != nil || !st.IsDir() {
		return inputErrorf("output directory %s does not exist; create it or choose another -o", filepath.Dir(out))
	}
	if s.Force {
		return nil
	}
	for _, p := range []string{out, out + ".001"} {
		if _, err := os.Lstat(p); err == nil {
			return inputErrorf("%s exists; use --force to overwrite it or -o to choose another name", p)
		}
	}
	return nil
}

// stubPath is the executable the payload is attached to: --stub, or this very binary (its stub
// part, when it is itself a .run).
func stubPath(s *settings) (string, error) {
	if s.Stub != "" {
		if _, err := os.Stat(s.Stub); err != nil {
			return "", inputErrorf("--stub %s: %v", s.Stub, errors.Unwrap(err))
		}
		return s.Stub, nil
	}
	return selfextract.Executable()
}

// resolveAll fetches every image's manifest, Jobs at a time, so that an image the registry does
// not have stops the build before anything is written.
func resolveAll(ctx context.Context, s *settings, client *registryClient, p *plan) ([]*remoteImage, error) {
	out := make([]*remoteImage, len(p.images))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.Jobs)
	for i, img := range p.images {
		g.Go(func() error {
			ri, err := client.resolve(gctx, img)
			out[i] = ri
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// write runs the pipeline and streams the payload into the .run as images become ready.
func write(ctx context.Context, s *settings, p *plan, client *registryClient, cache *Cache, images []*remoteImage, inst *installer, stub string) (*Result, error) {
	stubR, _, err := selfextract.StubReader(stub)
	if err != nil {
		return nil, &InputError{fmt.Errorf("reading the stub binary %s: %w", stub, err)}
	}
	defer stubR.Close()
	sg := newSigner(s.SignKey, s, p.output)
	out, err := selfextract.Create(p.output, sg.teeReader(stubR), s.Force)
	if err != nil {
		if errors.Is(err, selfextract.ErrExists) {
			return nil, &InputError{err}
		}
		return nil, fmt.Errorf("creating %s: %w", p.output, err)
	}
	defer out.Abort() // a no-op once committed

	pl := newPipeline(ctx, s, client, cache, images)
	pl.start()
	defer pl.stop()

	level := payload.Level(s.Level)
	pw := payload.NewWriter(sg.tee(out), payload.WriterOptions{
		Compression: s.Compression, Level: level, SpoolDir: cache.TempDir(), BuildTime: s.BuildTime,
		Progress: prefixed{s.Progress, "write "},
	})
	if err := addInstallers(pw, p, inst); err != nil {
		return nil, err
	}
	for _, job := range pl.jobs {
		if err := pl.wait(job.ready, &job.err); err != nil {
			return nil, err
		}
		if err := pw.AddImage(job.ri.image.Ref(), job.ri.image.Component, job.img); err != nil {
			return nil, fmt.Errorf("writing %s: %w", job.ri.image.Ref(), err)
		}
	}
	m := manifestFor(s, p, inst)
	if m.ScanDBs, err = addScanDBs(pw, p.scanDBs); err != nil {
		return nil, err
	}
	if len(p.hops) > 0 {
		sizes := map[string]int64{}
		for _, ri := range images {
			sizes[ri.image.Ref()] = pulledSize(ri)
		}
		m.Hops, m.Chains = hopsManifest(p, sizes)
	}
	sum, trailer, err := sealPayload(out, pw, m, sg)
	if err != nil {
		return nil, err
	}
	if err := cache.Sync(); err != nil {
		return nil, err
	}
	whole, size, err := out.Commit(trailer)
	if err != nil {
		return nil, fmt.Errorf("finishing %s: %w", p.output, err)
	}
	res := newResult(p, sum.Manifest, inst, whole, size)
	if res.SignatureFile, err = sg.writeDetached(res.File); err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	if err := finish(s, res, whole); err != nil {
		return nil, err
	}
	return res, nil
}

// finish writes NAME.run.sha256 and, with --split, cuts the .run into parts (which replace it).
func finish(s *settings, res *Result, whole [32]byte) error {
	var parts []selfextract.Part
	if s.splitSize > 0 {
		var err error
		if parts, err = selfextract.Split(res.File, s.splitSize); err != nil {
			return fmt.Errorf("splitting %s: %w", res.File, err)
		}
		for _, p := range parts {
			res.Parts = append(res.Parts, Part{Path: p.Path, Size: p.Size, SHA256: p.SHA256})
		}
	}
	if err := selfextract.WriteChecksums(res.File, whole, parts); err != nil {
		return fmt.Errorf("writing %s: %w", selfextract.ChecksumPath(res.File), err)
	}
	res.ChecksumFile = selfextract.ChecksumPath(res.File)
	if len(parts) > 0 {
		if err := os.Remove(res.File); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// addInstallers writes the installer files: under installer/ for a one-hop bundle, under
// installer/VERSION/ for each hop of a multi-hop one.
func addInstallers(pw *payload.Writer, p *plan, inst *installer) error {
	type set struct {
		prefix string
		inst   *installer
	}
	sets := []set{{"installer/", inst}}
	if len(p.hops) > 0 {
		sets = nil
		for _, h := range p.hops {
			sets = append(sets, set{payload.HopPrefix(h.release.Version), h.inst})
		}
	}
	for _, st := range sets {
		for _, f := range st.inst.Files {
			if err := pw.AddFile(st.prefix+f.Name, f.Mode, int64(len(f.Data)), bytes.NewReader(f.Data)); err != nil {
				return err
			}
		}
	}
	return nil
}

func manifestFor(s *settings, p *plan, inst *installer) payload.Manifest {
	rel := p.release
	return payload.Manifest{
		Release:      rel.Version,
		FromVersions: p.fromVersions,
		Components:   p.components,
		Migration:    payload.Migration{Method: rel.Migration.Method, Image: rel.Migration.Image, Args: rel.Migration.Args},
		InstallFlags: rel.InstallFlags,
		Builder:      payload.Builder{Version: s.BuilderVersion, BuildTime: s.BuildTime},
		Installer:    payload.Installer{Source: inst.Source, SHA256: inst.SHA256, Signature: inst.Signature},
	}
}

// prefixed renames the payload writer's tasks ("write goharbor/harbor-core:v1.10.0") so they do
// not collide with the pull tasks of the same images.
type prefixed struct {
	r      progress.Reporter
	prefix string
}

func (p prefixed) Start(task string, total int64) { p.r.Start(p.prefix+task, total) }
func (p prefixed) Add(task string, n int64)       { p.r.Add(p.prefix+task, n) }
func (p prefixed) Done(task string, err error)    { p.r.Done(p.prefix+task, err) }

// sealPayload closes the payload with its manifest (which records the stub's size and hash) and
// makes the trailer that points at the manifest, signed when a key was given.
func sealPayload(out *selfextract.Writer, pw *payload.Writer, m payload.Manifest, sg *signer) (payload.Summary, selfextract.Trailer, error) {
	m.Stub = payload.Stub{Size: out.PayloadOffset(), SHA256: out.StubSHA256()}
	sum, err := pw.Close(m)
	if err != nil {
		return sum, selfextract.Trailer{}, fmt.Errorf("writing payload: %w", err)
	}
	trailer := selfextract.Trailer{
		ManifestOffset: uint64(sum.ManifestOffset), ManifestLength: uint64(sum.ManifestLength), ManifestSHA256: sum.ManifestSHA256,
	}
	if err := sg.signTrailer(&trailer, out.PayloadOffset(), sum.Length); err != nil {
		return sum, trailer, fmt.Errorf("signing: %w", err)
	}
	return sum, trailer, nil
}
