package fakeharbor

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harborbundle/bundle/internal/docker"
	"github.com/harborbundle/bundle/internal/e2elock"
	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// InstallOptions says which fake Harbor to install on the machine's Docker engine.
type InstallOptions struct {
	// Version is the release ("v1.9.4").
	Version string
	// Components are the optional components (release.Clair, release.Chartmuseum,
	// release.Notary, release.Trivy), installed with install.sh's --with-<component>. A
	// component the release's install.sh does not accept makes install.sh fail, as it would.
	Components []string
	// Offline installs from the offline installer, whose install.sh loads harbor.vX.tar.gz
	// itself; otherwise the online installer is used and the images are streamed into
	// docker load first.
	Offline bool
	// Builder makes the images and installers; the default is a shared tiny builder.
	Builder *Builder
	// Env is added to install.sh's environment.
	Env []string
	// HTTPS installs with https on, as an administrator sets it up (harness_https.go): a
	// self-signed certificate and key in the install dir, harbor.yml's https block naming them
	// on a free port (Harbor.HTTPSPort); the http port then redirects to it.
	HTTPS bool
	// HealthTimeout bounds the wait for every container to be healthy; the default is 2 minutes.
	HealthTimeout time.Duration
	// Parent is the directory to work in (created; it must be empty); the default is a new
	// temporary directory. A Harbor with an explicit Parent outlives the process that made it
	// (the demo's): it is never reaped, only removed by Remove (OpenHarbor finds it again).
	Parent string
}

// Harbor is a fake Harbor installed for a test under its own temporary directory.
type Harbor struct {
	Version    string   // the release installed (WaitHealthy updates it)
	Components []string // the optional components
	Parent     string   // the temporary directory holding everything below; removed at the end
	Dir        string   // the install dir, Parent/harbor, where install.sh and harbor.yml are
	DataVolume string   // harbor.yml's data_volume, Parent/data
	LogDir     string   // harbor.yml's log location, Parent/log
	Port       int      // http.port, published on 127.0.0.1
	HTTPSPort  int      // https.port, published on 127.0.0.1; 0 without https
	Installer  string   // the installer .tgz it was installed from
	Docker     *docker.Runner
	Log        *SyncBuffer // every command run and its output

	builder    *Builder
	preImages  map[string]bool // fake images present before: not ours to remove
	netExisted bool
	keep       bool // never reaped: made for a later process (see InstallOptions.Parent)
	removeOnce sync.Once
	removeErr  error
}

// composeWorkingDir is the label docker-compose puts on every container it creates.
const composeWorkingDir = "com.docker.compose.project.working_dir"

var (
	sharedBuilderOnce sync.Once
	sharedBuilder     *Builder
	sharedBuilderErr  error
)

func defaultBuilder(ctx context.Context) (*Builder, error) {
	sharedBuilderOnce.Do(func() { sharedBuilder, sharedBuilderErr = NewBuilder(ctx, Options{Size: SizeTiny}) })
	return sharedBuilder, sharedBuilderErr
}

// Install installs a fake Harbor for test t, as a user would: unpack the installer, edit
// harbor.yml, ./install.sh --with-..., wait for health. It takes the e2e lock first and
// removes everything it created when the test ends, failures included. It fails the test on error.
func Install(t testing.TB, opts InstallOptions) *Harbor {
	t.Helper()
	h := NewHarbor(t, opts)
	if err := h.Install(context.Background(), opts); err != nil {
		t.Fatalf("installing fake harbor %s: %v", opts.Version, err)
	}
	return h
}

// NewHarbor prepares an empty workspace for test t (nothing installed yet: Install, or
// LoadImages for a test that only runs one image): it takes the e2e lock, and everything made
// through it is removed when the test ends.
func NewHarbor(t testing.TB, opts InstallOptions) *Harbor {
	t.Helper()
	e2elock.Lock(t)
	h, err := NewHarborContext(context.Background(), opts)
	if h != nil {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("fake harbor log (tail):\n%s", h.Log.Tail(8000))
			}
			if err := h.Remove(context.Background()); err != nil {
				t.Errorf("cleaning up the fake harbor: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatalf("preparing a fake harbor workspace: %v", err)
	}
	return h
}

// InstallContext is Install without a test: the caller must hold the e2e lock (e2elock.Acquire)
// and call Remove, also after an error when the Harbor returned is not nil.
func InstallContext(ctx context.Context, opts InstallOptions) (*Harbor, error) {
	h, err := NewHarborContext(ctx, opts)
	if err != nil {
		return h, err
	}
	return h, h.Install(ctx, opts)
}

// NewHarborContext is NewHarbor without a test (see InstallContext).
func NewHarborContext(ctx context.Context, opts InstallOptions) (*Harbor, error) {
	b := opts.Builder
	if b == nil {
		var err error
		if b, err = defaultBuilder(ctx); err != nil {
			return nil, err
		}
	}
	return newHarbor(ctx, b, opts)
}

// Install installs opts.Version in the workspace and waits until it is healthy.
func (h *Harbor) Install(ctx context.Context, opts InstallOptions) error {
	rel, err := release.Get(opts.Version)
	if err != nil {
		return err
	}
	if rel.ConfigVersion == "" {
		return fmt.Errorf("installing %s: the fake installs harbor.yml releases (1.8+) only", rel.Version)
	}
	h.Version, h.Components = rel.Version, opts.Components
	if err := h.install(ctx, opts); err != nil {
		return err
	}
	timeout := opts.HealthTimeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	if err := h.WaitHealthy(ctx, rel.Version, timeout); err != nil {
		return err
	}
	return h.endFreshSchema()
}

func newHarbor(ctx context.Context, b *Builder, opts InstallOptions) (*Harbor, error) {
	log := &SyncBuffer{}
	r := &docker.Runner{Log: log}
	if err := reapStale(ctx, r); err != nil {
		return nil, fmt.Errorf("removing what a killed test left: %w", err)
	}
	if err := refuseRunningHarbor(ctx, r); err != nil {
		return nil, err
	}
	if opts.Version != "" {
		rel, err := release.Get(opts.Version)
		if err != nil {
			return nil, err
		}
		opts.Version = rel.Version
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	parent, err := workspaceDir(opts.Parent)
	if err != nil {
		return nil, err
	}
	h := &Harbor{Version: opts.Version, Components: opts.Components, Parent: parent, keep: opts.Parent != "", Dir: filepath.Join(parent, "harbor"),
		DataVolume: filepath.Join(parent, "data"), LogDir: filepath.Join(parent, "log"), Port: port,
		Docker: r, Log: log, builder: b, preImages: map[string]bool{}}
	if opts.HTTPS {
		if h.HTTPSPort, err = freePort(); err != nil {
			return h, err
		}
	}
	images, err := r.Images(ctx, "label="+LabelFake)
	if err != nil {
		return h, err
	}
	for _, img := range images {
		h.preImages[img.Ref()] = true
	}
	nets, err := r.Networks(ctx, "name=harbor_harbor")
	if err != nil {
		return h, err
	}
	h.netExisted = len(nets) > 0
	return h, h.writeOwner(os.Getpid())
}

// workspaceDir creates dir (or a temporary one when dir is ""), absolute and empty.
func workspaceDir(dir string) (string, error) {
	if dir == "" {
		return os.MkdirTemp("", "fakeharbor-")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) > 0 {
		return "", fmt.Errorf("workspace %s must be empty: remove what is there, or choose another", dir)
	}
	return dir, nil
}

// refuseRunningHarbor stops an install that would collide with containers it did not create
// (Harbor's container names are fixed): a crashed run must be cleaned up by whoever made it.
func refuseRunningHarbor(ctx context.Context, r *docker.Runner) error {
	cs, err := r.PS(ctx, "name=harbor-core")
	if err != nil {
		return err
	}
	if len(cs) > 0 {
		return fmt.Errorf("a container named harbor-core already exists (%s, working dir %s): remove that Harbor first",
			cs[0].ID[:12], cs[0].Labels[composeWorkingDir])
	}
	return nil
}

// Flags are install.sh's flags for the components.
func (h *Harbor) Flags() []string {
	var flags []string
	for _, c := range h.Components {
		flags = append(flags, "--with-"+c)
	}
	return flags
}

// URL is the address of path on the installed Harbor's proxy: over https when it has https on
// (its http port only redirects there).
func (h *Harbor) URL(path string) string {
	if h.HTTPSPort > 0 {
		return fmt.Sprintf("https://127.0.0.1:%d%s", h.HTTPSPort, path)
	}
	return fmt.Sprintf("http://127.0.0.1:%d%s", h.Port, path)
}

func (h *Harbor) install(ctx context.Context, opts InstallOptions) error {
	var err error
	if h.Installer, err = h.InstallerFile(h.Version, opts.Offline); err != nil {
		return err
	}
	if err := h.runLogged(ctx, h.Parent, nil, "tar", "xzf", h.Installer); err != nil {
		return err
	}
	if err := h.configure(); err != nil {
		return err
	}
	if err := h.beginFreshSchema(); err != nil {
		return err
	}
	if opts.Offline {
		if err := h.checkImageTarball(); err != nil {
			return err
		}
	} else if err := h.LoadImages(ctx, h.Version); err != nil {
		return err
	}
	return h.RunInstall(ctx, h.Dir, opts.Env)
}

// InstallerFile writes a release's installer under Parent/packages (as downloaded) and
// returns its path.
func (h *Harbor) InstallerFile(version string, offline bool) (string, error) {
	kind := "online"
	if offline {
		kind = "offline"
	}
	dir := filepath.Join(h.Parent, "packages")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	name := filepath.Join(dir, fmt.Sprintf("harbor-%s-installer-%s.tgz", kind, version))
	err := writeTo(name, func(w io.Writer) error {
		if offline {
			return h.builder.OfflineInstaller(version, w)
		}
		return h.builder.OnlineInstaller(version, w)
	})
	if err != nil {
		return "", fmt.Errorf("writing the installer: %w", err)
	}
	return name, nil
}

// configure edits the unpacked harbor.yml for this machine, as the install guide asks (2.x:
// copied from harbor.yml.tmpl first): hostname, http.port, data_volume and the log location in
// the workspace, the https block commented out, or set up with a certificate (HTTPSPort).
func (h *Harbor) configure() error {
	for _, d := range []string{h.DataVolume, h.LogDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	name := filepath.Join(h.Dir, "harbor.yml")
	if rel, err := release.Get(h.Version); err == nil && rel.Is2x() {
		// 2.x ships only harbor.yml.tmpl: the install guide's first step is to copy it.
		if err := h.runLogged(context.Background(), h.Dir, nil, "cp", "harbor.yml.tmpl", "harbor.yml"); err != nil {
			return err
		}
	}
	text, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("reading the shipped harbor.yml: %w", err)
	}
	settings := ymlSettings{Hostname: testHostname, HTTPPort: h.Port, DataVolume: h.DataVolume, LogDir: h.LogDir}
	if h.HTTPSPort > 0 {
		if settings.HTTPS, err = h.writeCert(); err != nil {
			return err
		}
	}
	edited, err := editHarborYML(string(text), settings)
	if err != nil {
		return err
	}
	return os.WriteFile(name, []byte(edited), 0o644)
}

// RunInstall runs ./install.sh in dir with the components' flags, its output in the log,
// under ShimEnv (Harbor's real 2.x prepare script asks for --privileged, which this engine
// cannot start).
func (h *Harbor) RunInstall(ctx context.Context, dir string, env []string) error {
	shim, err := h.ShimEnv()
	if err != nil {
		return err
	}
	return h.runLogged(ctx, dir, append(shim, env...), "./install.sh", h.Flags()...)
}

func (h *Harbor) runLogged(ctx context.Context, dir string, env []string, name string, args ...string) error {
	fmt.Fprintf(h.Log, "%s $ (cd %s && %s %s)\n", time.Now().Format("15:04:05.000"), dir, name, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = h.Log, h.Log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("running %s in %s: %w (output in the log)", name, dir, err)
	}
	return nil
}
