package upgrade

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/harborbundle/bundle/harbor"
	"gopkg.in/yaml.v3"
)

// Install is what detect found out about the Harbor on this host.
type Install struct {
	Dir string `json:"dir"`
	// DirFrom says how Dir was found: "running containers", "stopped containers", "--harbor-dir"
	// or "default".
	DirFrom string `json:"dir_from"`
	Version string `json:"version"` // "v1.9.4"
	// VersionFrom says where Version was read: "running containers" or "docker-compose.yml".
	VersionFrom   string `json:"version_from"`
	ConfigVersion string `json:"config_version"` // harbor.yml `_version`; "" for harbor.cfg
	// Legacy is set for 1.7 and older: harbor.cfg instead of harbor.yml.
	Legacy     bool     `json:"legacy,omitempty"`
	Running    bool     `json:"running"`
	Components []string `json:"components"` // optional components in use: notary, clair, chartmuseum, trivy
	DataVolume string   `json:"data_volume"`
	HTTPPort   int      `json:"http_port"`
	HTTPSPort  int      `json:"https_port,omitempty"`
	// Images the install runs (docker-compose.yml `image:` lines), sorted.
	Images []string `json:"images"`
	// Containers of this install, running or not.
	Containers []Container `json:"-"`
}

// InstallFlags are the install.sh flags that reproduce the install's components.
func (in *Install) InstallFlags() []string {
	var flags []string
	for _, c := range in.Components {
		flags = append(flags, "--with-"+c)
	}
	return flags
}

// ConfigPath is the harbor.yml (or 1.7's harbor.cfg) of the install.
func (in *Install) ConfigPath() string {
	if in.Legacy {
		return filepath.Join(in.Dir, "harbor.cfg")
	}
	return filepath.Join(in.Dir, "harbor.yml")
}

// DetectError means no usable Harbor install was found; refused before any change.
type DetectError struct{ Reason string }

func (e *DetectError) Error() string { return e.Reason }

// ExitCode: refused before any change.
func (e *DetectError) ExitCode() int { return 2 }

// Detect finds the Harbor install: the install dir from the running containers' compose labels,
// else harborDir (--harbor-dir), else ./harbor; then what is in it.
func Detect(ctx context.Context, eng Engine, harborDir string) (*Install, error) {
	all, err := eng.Containers(ctx, LabelWorkingDir)
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	dir, from, err := chooseDir(harborContainers(all), harborDir)
	if err != nil {
		return nil, err
	}
	return DetectDir(dir, from, all)
}

// harborContainers are the containers docker-compose started from a Harbor image.
func harborContainers(cs []Container) []Container {
	var out []Container
	for _, c := range cs {
		if strings.HasPrefix(c.Image, "goharbor/") && c.Labels[LabelWorkingDir] != "" {
			out = append(out, c)
		}
	}
	return out
}

// chooseDir picks the install dir. A --harbor-dir that disagrees with the running Harbor is
// refused: stopping one Harbor and upgrading another would be the worst of both.
func chooseDir(running []Container, flagDir string) (dir, from string, err error) {
	live := composeDirs(running, func(state string) bool { return state == "running" || state == "restarting" })
	if len(live) > 1 {
		return "", "", &DetectError{fmt.Sprintf("Harbor containers are running from several directories (%s); stop all but one and run again", strings.Join(live, ", "))}
	}
	if flagDir != "" {
		abs, err := filepath.Abs(flagDir)
		if err != nil {
			return "", "", err
		}
		if len(live) == 1 && !sameDir(live[0], abs) {
			return "", "", &DetectError{fmt.Sprintf("--harbor-dir %s is not the Harbor that is running (from %s); pass --harbor-dir %s or stop that one first", abs, live[0], live[0])}
		}
		return abs, "--harbor-dir", nil
	}
	if len(live) == 1 {
		return live[0], "running containers", nil
	}
	// A stopped Harbor (after a reboot, or `docker-compose stop`) still has its containers and
	// their labels: one install dir among them is the install, as a running one would be.
	if stopped := composeDirs(running, func(string) bool { return true }); len(stopped) == 1 {
		if st, err := os.Stat(stopped[0]); err == nil && st.IsDir() {
			return stopped[0], "stopped containers", nil
		}
	}
	abs, err := filepath.Abs("harbor")
	return abs, "default", err
}

// composeDirs lists, sorted, the compose working dirs of the containers whose state keep says.
func composeDirs(cs []Container, keep func(state string) bool) []string {
	dirs := map[string]bool{}
	for _, c := range cs {
		if keep(c.State) {
			dirs[filepath.Clean(c.Labels[LabelWorkingDir])] = true
		}
	}
	out := make([]string, 0, len(dirs))
	for d := range dirs {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

func sameDir(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

// DetectDir reads the install in dir; containers are all the host's compose containers (those
// of dir are kept).
func DetectDir(dir, from string, containers []Container) (*Install, error) {
	in := &Install{Dir: dir, DirFrom: from}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, &DetectError{fmt.Sprintf("no Harbor install found at %s (not running, no such directory); pass --harbor-dir DIR", dir)}
	}
	for _, c := range harborContainers(containers) {
		if sameDir(c.Labels[LabelWorkingDir], dir) {
			in.Containers = append(in.Containers, c)
			in.Running = in.Running || c.State == "running" || c.State == "restarting"
		}
	}
	if err := in.readConfig(); err != nil {
		return nil, err
	}
	if err := in.readCompose(); err != nil {
		return nil, err
	}
	if err := in.readVersion(); err != nil {
		return nil, err
	}
	return in, nil
}

func (in *Install) readConfig() error {
	yml := filepath.Join(in.Dir, "harbor.yml")
	if _, err := os.Stat(yml); errors.Is(err, fs.ErrNotExist) {
		cfg := filepath.Join(in.Dir, "harbor.cfg")
		if _, err := os.Stat(cfg); err != nil {
			return &DetectError{fmt.Sprintf("%s has neither harbor.yml nor harbor.cfg: not a Harbor install dir; pass --harbor-dir DIR", in.Dir)}
		}
		in.Legacy = true
		kv, err := harbor.ReadLegacyCfg(cfg)
		if err != nil {
			return &DetectError{fmt.Sprintf("reading %s: %v", cfg, err)}
		}
		in.DataVolume = "/data" // 1.7 had no data_volume key
		if hp := kv["http_port"]; hp != "" {
			fmt.Sscan(hp, &in.HTTPPort)
		}
		return nil
	}
	c, err := harbor.ReadConfig(yml)
	if err != nil {
		return &DetectError{fmt.Sprintf("reading %s: %v; fix it and run again", yml, err)}
	}
	in.ConfigVersion = c.ConfigVersion()
	in.DataVolume = c.DataVolume()
	in.HTTPPort = c.HTTPPort()
	if p, ok := c.HTTPSPort(); ok {
		in.HTTPSPort = p
	}
	return nil
}

// composeFile is the part of docker-compose.yml detect reads.
type composeFile struct {
	Services map[string]struct {
		Image string `yaml:"image"`
	} `yaml:"services"`
}

// componentOfService maps compose services to install.sh components.
var componentOfService = map[string]string{
	"notary-server": harbor.Notary, "notary-signer": harbor.Notary,
	"clair": harbor.Clair, "clair-adapter": harbor.Clair,
	"chartmuseum":   harbor.Chartmuseum,
	"trivy-adapter": harbor.Trivy, // 2.x; its --with-trivy must be carried to the new install.sh
}

func (in *Install) readCompose() error {
	path := filepath.Join(in.Dir, "docker-compose.yml")
	b, err := os.ReadFile(path)
	if err != nil {
		return &DetectError{fmt.Sprintf("reading %s: %v (a Harbor install dir has one after install.sh ran)", path, err)}
	}
	var cf composeFile
	if err := yaml.Unmarshal(b, &cf); err != nil {
		return &DetectError{fmt.Sprintf("reading %s: %v", path, err)}
	}
	comps := map[string]bool{}
	for svc, s := range cf.Services {
		if s.Image != "" {
			in.Images = append(in.Images, s.Image)
		}
		if c := componentOfService[svc]; c != "" {
			comps[c] = true
		}
	}
	sort.Strings(in.Images)
	for _, c := range []string{harbor.Notary, harbor.Clair, harbor.Chartmuseum, harbor.Trivy} {
		if comps[c] {
			in.Components = append(in.Components, c)
		}
	}
	return nil
}

// readVersion takes the version from the tag of the running core image, else from
// docker-compose.yml, and checks it against harbor.yml's `_version` line.
func (in *Install) readVersion() error {
	for _, c := range in.Containers {
		if v := coreTag(c.Image); v != "" && (c.State == "running" || c.State == "restarting") {
			in.Version, in.VersionFrom = v, "running containers"
			break
		}
	}
	if in.Version == "" {
		for _, img := range in.Images {
			if v := coreTag(img); v != "" {
				in.Version, in.VersionFrom = v, "docker-compose.yml"
			}
		}
	}
	if in.Version == "" {
		return &DetectError{fmt.Sprintf("cannot tell the Harbor version in %s: no goharbor/harbor-core image in docker-compose.yml", in.Dir)}
	}
	v, err := harbor.ParseVersion(in.Version)
	if err != nil {
		return &DetectError{fmt.Sprintf("cannot read the Harbor version %q: %v", in.Version, err)}
	}
	in.Version = v.String()
	if in.Legacy || in.ConfigVersion == "" {
		return nil
	}
	cv, err := harbor.ParseVersion(in.ConfigVersion)
	if err != nil || !cv.SameLine(v) && !shippedConfig(in.Version, in.ConfigVersion) {
		// harbor.yml from another line than the images: a half-done manual upgrade. Which of
		// the two is right is not ours to guess.
		return &DetectError{fmt.Sprintf("%s says _version %q but the images are %s: the install looks half upgraded; restore it or fix harbor.yml, then run again", in.ConfigPath(), in.ConfigVersion, in.Version)}
	}
	return nil
}

// coreTag returns the tag of a goharbor/harbor-core image reference, "" for other images.
func coreTag(ref string) string {
	repo, tag, ok := strings.Cut(ref, ":")
	if !ok || !strings.HasSuffix(repo, "goharbor/harbor-core") {
		return ""
	}
	return tag
}

// shippedConfig: the `_version` a release's own installer ships, which may name another line
// (2.1.x ships a harbor.yml.tmpl saying 2.0.0, catalog shipped_config_version): a fresh
// install of it says so, and that is no half-done upgrade.
func shippedConfig(version, configVersion string) bool {
	cat, err := harbor.DefaultCatalog()
	if err != nil {
		return false
	}
	r, err := cat.Get(version)
	return err == nil && r.ShippedConfigVersion == configVersion
}
