package builder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/progress"
	"github.com/harborbundle/bundle/selfextract"
)

// blobGet matches a blob download in the registry API: GET /v2/<name>/blobs/<digest>.
var blobGet = regexp.MustCompile(`^/v2/.+/blobs/(sha256:[0-9a-f]{64})$`)

// registryProxy sits in front of a registry and counts the blob downloads it passes on, the
// way the registry itself would see them. It can hold blob downloads (to kill a build
// mid-pull) and fail some (to exercise retries).
type registryProxy struct {
	Addr string // host:port to pass as Options.Registry

	mu        sync.Mutex
	started   map[string]int // digest -> GETs begun
	completed map[string]int // digest -> GETs served to the end
	holdAfter int            // when > 0: blob GETs beyond this many completed wait for release
	held      int
	release   chan struct{}
	failures  map[string]int // digest -> how many more GETs answer 503
	truncate  map[string]int // digest -> how many more GETs drop the connection midway
	corrupt   map[string]int // digest -> how many more GETs serve other bytes of the same length
	delay     time.Duration  // added to every request, as a distant registry's round trip
	rate      float64        // bytes/s per blob download when > 0, as a remote link allows
}

func startProxy(t testing.TB, target string) *registryProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &registryProxy{started: map[string]int{}, completed: map[string]int{}, failures: map[string]int{}, truncate: map[string]int{}, corrupt: map[string]int{}, release: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0) // cancelled downloads are expected here
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.delay > 0 {
			time.Sleep(p.delay)
		}
		m := blobGet.FindStringSubmatch(r.URL.Path)
		if r.Method != http.MethodGet || m == nil {
			rp.ServeHTTP(w, r)
			return
		}
		ok, cut, corrupt := p.begin(r.Context(), m[1])
		if !ok {
			http.Error(w, "injected failure", http.StatusServiceUnavailable)
			return
		}
		if cut {
			w = &cuttingWriter{ResponseWriter: w, left: 100}
		}
		if corrupt {
			w = &flippingWriter{ResponseWriter: w}
		}
		if p.rate > 0 {
			w = &throttledWriter{ResponseWriter: w, rate: p.rate, began: time.Now()}
		}
		rp.ServeHTTP(w, r)
		if r.Context().Err() == nil {
			p.mu.Lock()
			p.completed[m[1]]++
			p.mu.Unlock()
		}
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		p.Release()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	p.Addr = l.Addr().String()
	return p
}

// begin records a blob GET; it returns ok false when the GET must fail, cut true when the
// connection must drop midway, corrupt true when a byte of the body must change, and blocks
// while held.
func (p *registryProxy) begin(ctx context.Context, digest string) (ok, cut, corrupt bool) {
	p.mu.Lock()
	p.started[digest]++
	if p.failures[digest] > 0 {
		p.failures[digest]--
		p.mu.Unlock()
		return false, false, false
	}
	if p.truncate[digest] > 0 {
		p.truncate[digest]--
		cut = true
	}
	if p.corrupt[digest] > 0 {
		p.corrupt[digest]--
		corrupt = true
	}
	hold := p.holdAfter > 0 && p.total(p.completed) >= p.holdAfter
	if hold {
		p.held++
	}
	release := p.release
	p.mu.Unlock()
	if hold {
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	return true, cut, corrupt
}

// throttledWriter holds a response to rate bytes per second.
type throttledWriter struct {
	http.ResponseWriter
	rate  float64
	began time.Time
	n     int64
}

func (t *throttledWriter) Write(b []byte) (int, error) {
	n, err := t.ResponseWriter.Write(b)
	t.n += int64(n)
	if due := t.began.Add(time.Duration(float64(t.n) / t.rate * float64(time.Second))); time.Until(due) > 0 {
		time.Sleep(time.Until(due))
	}
	return n, err
}

// cuttingWriter drops the connection after a few bytes of the body, as a network failure
// would: the client sees a short body.
type cuttingWriter struct {
	http.ResponseWriter
	left int
}

func (c *cuttingWriter) Write(b []byte) (int, error) {
	if len(b) > c.left {
		c.ResponseWriter.Write(b[:c.left])
		if f, ok := c.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	c.left -= len(b)
	return c.ResponseWriter.Write(b)
}

// flippingWriter inverts one byte in the middle of the body's first write: a registry (or a
// proxy, or a disk under it) serving other content than the digest names, same length.
type flippingWriter struct {
	http.ResponseWriter
	done bool
}

func (f *flippingWriter) Write(b []byte) (int, error) {
	if !f.done && len(b) > 0 {
		f.done = true
		c := append([]byte(nil), b...)
		c[len(c)/2] ^= 0xff
		return f.ResponseWriter.Write(c)
	}
	return f.ResponseWriter.Write(b)
}

func (p *registryProxy) total(m map[string]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// Started is the number of blob GETs begun so far.
func (p *registryProxy) Started() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total(p.started)
}

// Completed returns the digests served to the end so far.
func (p *registryProxy) Completed() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for d, n := range p.completed {
		out[d] = n
	}
	return out
}

// Snapshot returns the digests begun and completed so far, and resets the counters.
func (p *registryProxy) Snapshot() (started, completed map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	started, completed = p.started, p.completed
	p.started, p.completed = map[string]int{}, map[string]int{}
	return started, completed
}

// HoldAfter makes blob GETs wait once n have completed, until Release.
func (p *registryProxy) HoldAfter(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holdAfter, p.release = n, make(chan struct{})
}

// Held is how many blob GETs are waiting.
func (p *registryProxy) Held() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}

// Release lets held GETs through and stops holding.
func (p *registryProxy) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.holdAfter > 0 {
		p.holdAfter = 0
		close(p.release)
	}
}

// CutNext makes the next n GETs of digest drop the connection after a few bytes.
func (p *registryProxy) CutNext(digest string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.truncate[digest] = n
}

// CorruptNext makes the next n GETs of digest serve a body with one byte changed.
func (p *registryProxy) CorruptNext(digest string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.corrupt[digest] = n
}

// FailNext makes the next n GETs of digest answer 503.
func (p *registryProxy) FailNext(digest string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures[digest] = n
}

var (
	fakeOnce sync.Once
	fakeSrv  *fakeharbor.Server
	fakeErr  error
)

// fakeHarbor is the tiny fake Harbor 1.10.0, started once for all tests of the package.
func fakeHarbor(t testing.TB) *fakeharbor.Server {
	t.Helper()
	fakeOnce.Do(func() {
		fakeSrv, fakeErr = fakeharbor.Start(context.Background(), fakeharbor.Options{Versions: []string{"v1.10.0"}})
	})
	if fakeErr != nil {
		t.Fatalf("starting the fake harbor: %v", fakeErr)
	}
	return fakeSrv
}

// testStub is a small stand-in for the bundle binary: the payload does not care what it is
// attached to, and a small stub keeps the tests fast.
func testStub(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "stub")
	if err := os.WriteFile(p, bytes.Repeat([]byte("#!/bin/sh\nexit 0\n"), 64), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// anonymous is a keychain that never finds credentials: the tests do not read the docker
// config of the machine they run on, except the one that sets DOCKER_CONFIG on purpose.
var anonymous = authn.NewMultiKeychain()

// testOptions builds v1.10.0 from the fake through proxy into a fresh temp dir.
func testOptions(t testing.TB, srv *fakeharbor.Server, proxy *registryProxy, cache string) Options {
	t.Helper()
	return Options{
		Version:        "v1.10.0",
		Output:         filepath.Join(t.TempDir(), "harbor-upgrade-1.10.run"),
		Registry:       proxy.Addr,
		Installer:      srv.InstallerURL("v1.10.0", false),
		CacheDir:       cache,
		Stub:           testStub(t),
		BuilderVersion: "test",
		BuildTime:      time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC),
		Keychain:       anonymous,
		RetryDelay:     10 * time.Millisecond,
	}
}

// openBundle opens a .run and verifies every byte of its payload.
func openBundle(t testing.TB, path string) *payload.Reader {
	t.Helper()
	b, err := selfextract.Open(path)
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	t.Cleanup(func() { b.Close() })
	pr, err := b.OpenPayload()
	if err != nil {
		t.Fatalf("opening payload of %s: %v", path, err)
	}
	if err := pr.Verify(context.Background(), progress.Discard); err != nil {
		t.Fatalf("verifying %s: %v", path, err)
	}
	return pr
}

func fileSHA(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// listTree lists every path under dir with its size, to compare a directory before and after.
func listTree(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel+" "+fi.Mode().String())
		}
		return nil
	})
	sort.Strings(out)
	return out
}
