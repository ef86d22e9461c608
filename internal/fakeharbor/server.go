package fakeharbor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Server is a running fake Harbor release site: a registry holding every image of the chosen
// releases under goharbor/... at the real tags, and an HTTP server with the installers at
// Harbor's release-download paths. Both listen on 127.0.0.1 only.
type Server struct {
	*Builder
	// RegistryAddr is host:port of the registry ("127.0.0.1:PORT"), without a scheme.
	RegistryAddr string
	// InstallersURL is the base URL of the installer downloads ("http://127.0.0.1:PORT").
	InstallersURL string

	servers []*http.Server
	blobs   *blobStore
	files   sync.Mutex // one offline installer made at a time
}

// Start builds the releases of opts (see Options for the defaults), serves them and returns once
// every image is in the registry. Close stops both servers.
func Start(ctx context.Context, opts Options) (*Server, error) {
	b, err := NewBuilder(ctx, opts)
	if err != nil {
		return nil, err
	}
	s := &Server{Builder: b, blobs: newBlobStore()}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithBlobHandler(s.blobs))
	if s.RegistryAddr, err = s.listen(reg); err != nil {
		return nil, err
	}
	addr, err := s.listen(http.HandlerFunc(s.serveInstaller))
	if err != nil {
		s.Close()
		return nil, err
	}
	s.InstallersURL = "http://" + addr
	for _, v := range b.opts.Versions {
		if err := s.push(ctx, v); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// StartT starts a server for a test with the defaults of opts, and closes it when the test ends.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("starting the fake harbor: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Ref is ref ("goharbor/harbor-core:v1.10.0") as served by this registry.
func (s *Server) Ref(ref string) string { return s.RegistryAddr + "/" + ref }

// InstallerURL is the download URL of a release's installer on this server.
func (s *Server) InstallerURL(version string, offline bool) string {
	return s.InstallersURL + InstallerPath(version, offline)
}

// Close stops both servers.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, srv := range s.servers {
		errs = append(errs, srv.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

func (s *Server) listen(h http.Handler) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listening on 127.0.0.1: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go srv.Serve(l)
	return l.Addr().String(), nil
}

// push puts a release in the registry. The layers are registered with the blob store first, so
// remote.Write finds them there and uploads only configs and manifests: a large release is never
// copied or held in memory.
func (s *Server) push(ctx context.Context, version string) error {
	refs, err := s.Release(version)
	if err != nil {
		return err
	}
	images := map[name.Reference]remote.Taggable{}
	for _, ref := range refs {
		layers, err := ref.Image.Layers()
		if err != nil {
			return err
		}
		for _, l := range layers {
			if fl, ok := l.(*fileLayer); ok {
				s.blobs.addFile(fl)
			}
		}
		tag, err := name.NewTag(s.Ref(ref.Ref))
		if err != nil {
			return err
		}
		images[tag] = ref.Image
	}
	if err := remote.MultiWrite(images, remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("pushing %s to the fake registry: %w", version, err)
	}
	return nil
}

var installerPath = regexp.MustCompile(`^/goharbor/harbor/releases/download/(v[0-9.]+)/harbor-(online|offline)-installer-(v[0-9.]+)\.tgz$`)

func (s *Server) serveInstaller(w http.ResponseWriter, r *http.Request) {
	m := installerPath.FindStringSubmatch(r.URL.Path)
	if m == nil || m[1] != m[3] || !slices.Contains(s.opts.Versions, m[1]) {
		http.NotFound(w, r)
		return
	}
	version, offline := m[1], m[2] == "offline"
	if !offline {
		var buf bytes.Buffer
		if err := s.OnlineInstaller(version, &buf); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.ServeContent(w, r, "", epoch, bytes.NewReader(buf.Bytes()))
		return
	}
	s.files.Lock()
	path, err := s.OfflineInstallerFile(version)
	s.files.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	http.ServeContent(w, r, "", epoch, f)
}
