package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/harborbundle/bundle/harbor"
)

// retryStatusCodes are the answers worth asking again: timeouts, rate limits, server trouble.
var retryStatusCodes = []int{
	http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
}

// registryClient pulls from one registry (docker.io or the mirror given by --registry) with one
// go-containerregistry Puller, so authentication happens once per repository, not per blob.
type registryClient struct {
	puller   *remote.Puller
	registry string
	nameOpts []name.Option
}

func newRegistryClient(s *settings) (*registryClient, error) {
	platform, err := v1.ParsePlatform(s.Platform)
	if err != nil {
		return nil, inputErrorf("--platform %q: %v; use OS/ARCH[/VARIANT] such as linux/amd64", s.Platform, err)
	}
	t := s.Transport
	if t == nil {
		t = remote.DefaultTransport
	}
	p, err := remote.NewPuller(
		remote.WithAuthFromKeychain(s.Keychain),
		remote.WithPlatform(*platform),
		remote.WithTransport(t),
		remote.WithJobs(s.Jobs),
		remote.WithUserAgent("harbor-bundle/"+s.BuilderVersion),
		remote.WithRetryStatusCodes(retryStatusCodes...),
		remote.WithRetryBackoff(remote.Backoff{Duration: s.RetryDelay, Factor: 2, Jitter: 0.1, Steps: 4}),
	)
	if err != nil {
		return nil, fmt.Errorf("setting up the registry client: %w", err)
	}
	var opts []name.Option
	if s.InsecureRegistry {
		opts = append(opts, name.Insecure)
	}
	return &registryClient{puller: p, registry: s.Registry, nameOpts: opts}, nil
}

// reference is where a catalog image is pulled from: its repository on the chosen registry,
// under the registry's path prefix if it has one (mirror.example.com/dockerhub).
func (c *registryClient) reference(img harbor.Image) (name.Reference, error) {
	s := img.Ref()
	if c.registry != DefaultRegistry {
		s = c.registry + "/" + s
	}
	ref, err := name.ParseReference(s, c.nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("image %s on registry %s: %w", img.Ref(), c.registry, err)
	}
	return ref, nil
}

// remoteImage is one catalog image resolved at the registry to the manifest of our platform.
type remoteImage struct {
	image     harbor.Image
	ref       name.Reference
	raw       []byte // the manifest exactly as served, so its digest is the registry's
	manifest  *v1.Manifest
	mediaType types.MediaType
	digest    v1.Hash
}

// resolve fetches the image's manifest (through its index for multi-platform images). A registry
// that does not know the image is bad input: the catalog or --registry is wrong.
func (c *registryClient) resolve(ctx context.Context, img harbor.Image) (*remoteImage, error) {
	ref, err := c.reference(img)
	if err != nil {
		return nil, &InputError{err}
	}
	desc, err := c.puller.Get(ctx, ref)
	if err != nil {
		return nil, c.pullError(img, ref, err)
	}
	ri := &remoteImage{image: img, ref: ref, raw: desc.Manifest, mediaType: desc.MediaType, digest: desc.Digest}
	if desc.MediaType.IsIndex() {
		child, err := desc.Image()
		if err != nil {
			return nil, &PullError{Ref: img.Ref(), Err: fmt.Errorf("choosing the platform from its index: %w", err)}
		}
		if ri.raw, err = child.RawManifest(); err != nil {
			return nil, &PullError{Ref: img.Ref(), Err: err}
		}
		if ri.mediaType, err = child.MediaType(); err != nil {
			return nil, &PullError{Ref: img.Ref(), Err: err}
		}
		if ri.digest, err = child.Digest(); err != nil {
			return nil, &PullError{Ref: img.Ref(), Err: err}
		}
	} else if !desc.MediaType.IsImage() {
		return nil, &PullError{Ref: img.Ref(), Err: fmt.Errorf("unsupported manifest type %s (schema 1 images are not supported)", desc.MediaType)}
	}
	if ri.manifest, err = v1.ParseManifest(bytes.NewReader(ri.raw)); err != nil {
		return nil, &PullError{Ref: img.Ref(), Err: fmt.Errorf("parsing manifest: %w", err)}
	}
	for _, l := range ri.manifest.Layers {
		if !l.MediaType.IsDistributable() {
			return nil, &PullError{Ref: img.Ref(), Err: fmt.Errorf("layer %s is non-distributable (%s): bundles carry only distributable layers", l.Digest, l.MediaType)}
		}
	}
	return ri, nil
}

func (c *registryClient) pullError(img harbor.Image, ref name.Reference, err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch {
		case terr.StatusCode == http.StatusNotFound || hasCode(terr, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode):
			return inputErrorf("image %s is not on registry %s (%s): the catalog entry or --registry is wrong", img.Ref(), ref.Context().RegistryStr(), ref)
		case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden:
			return &PullError{Ref: img.Ref(), Err: fmt.Errorf("registry %s refused access (%d): log in with `docker login %s` (credentials come from the docker config)", ref.Context().RegistryStr(), terr.StatusCode, ref.Context().RegistryStr())}
		}
	}
	return &PullError{Ref: img.Ref(), Err: err}
}

func hasCode(e *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range e.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

// blobFetcher opens a blob of repo at the registry for the cache: a verifiedBody, since
// go-containerregistry checks the digest of what it reads (TestCorruptBlob proves it).
func (c *registryClient) blobFetcher(repo name.Repository, h v1.Hash) FetchFunc {
	return func(ctx context.Context) (io.ReadCloser, error) {
		l, err := c.puller.Layer(ctx, repo.Digest(h.String()))
		if err != nil {
			return nil, err
		}
		rc, err := l.Compressed()
		if err != nil {
			return nil, err
		}
		return verifiedBody{rc}, nil
	}
}
