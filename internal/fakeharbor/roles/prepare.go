package roles

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// The mount points of the real prepare container.
const (
	prepareInput   = "/input/harbor.yml"
	prepareConfig  = "/config"
	prepareCompose = "/compose_location/docker-compose.yml"
	prepareSecret  = "/secret"
	prepareData    = "/data" // mounted from 1.9 on
)

// The uids real Harbor's containers run as.
const (
	uidPostgres = 999
	uidHarbor   = 10000
)

// prepareFlags are the optional components prepare generates configuration for.
type prepareFlags struct {
	notary, clair, chartmuseum bool
}

func (f prepareFlags) components() []string {
	var c []string
	if f.notary {
		c = append(c, release.Notary)
	}
	if f.clair {
		c = append(c, release.Clair)
	}
	if f.chartmuseum {
		c = append(c, release.Chartmuseum)
	}
	return c
}

func parsePrepareFlags(args []string) (prepareFlags, error) {
	var f prepareFlags
	for _, a := range args {
		switch a {
		case "--with-notary":
			f.notary = true
		case "--with-clair":
			f.clair = true
		case "--with-chartmuseum":
			f.chartmuseum = true
		default:
			return f, fmt.Errorf("Error: no such option: %s", a)
		}
	}
	return f, nil
}

// runPrepare is the prepare image: harbor.yml in, common/config, the secrets, the data dirs'
// owners and docker-compose.yml out.
func runPrepare(env *Env, args []string) int {
	flags, err := parsePrepareFlags(args)
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		return exitUsage
	}
	if err := prepare(env, flags); err != nil {
		fmt.Fprintln(env.Stderr, err)
		return exitFail
	}
	return exitOK
}

func prepare(env *Env, flags prepareFlags) error {
	rel, err := release.Get(env.Version())
	if err != nil {
		return fmt.Errorf("reading HARBOR_VERSION: %w", err)
	}
	data, err := os.ReadFile(env.Path(prepareInput))
	if err != nil {
		return fmt.Errorf("reading harbor.yml: %w", err)
	}
	h, err := parseHarborYML(data)
	if err != nil {
		return err
	}
	s, err := readSettings(h, rel.ConfigVersion)
	if err != nil {
		return err
	}
	if err := validate(s, rel.ConfigVersion); err != nil {
		return err
	}
	if err := regenerateConfig(env, s, flags); err != nil {
		return err
	}
	if err := prepareSecrets(env); err != nil {
		return err
	}
	if dataMounted(env) {
		if err := prepareDataDirs(env, flags); err != nil {
			return err
		}
	}
	compose, err := composeFile(rel, s, flags)
	if err != nil {
		return err
	}
	if err := writeFile(env, prepareCompose, compose, 0o644, -1); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Generated configuration file: %s\n", prepareCompose)
	return nil
}

// validate refuses what real prepare refuses before writing anything.
func validate(s settings, configVersion string) error {
	if s.hostname == "" || s.hostname == "reg.mydomain.com" {
		return errors.New("Please specify hostname")
	}
	if configVersion == "1.10.0" && s.https {
		for _, p := range []struct{ key, value, placeholder string }{
			{"https.certificate", s.certificate, "/your/certificate/path"},
			{"https.private_key", s.privateKey, "/your/private/key/path"},
		} {
			if p.value == "" || p.value == p.placeholder {
				return fmt.Errorf("Error: the protocol is https but %s is %q: set the path of your certificate, or comment out the https block to use http only", p.key, p.value)
			}
		}
	}
	return nil
}

// dataMounted tells whether the data volume is mounted at /data: from 1.9 the prepare script
// mounts it; 1.8's does not, and docker then creates missing data dirs as root.
func dataMounted(env *Env) bool {
	st, err := os.Stat(env.Path(prepareData))
	return err == nil && st.IsDir()
}

// dataDir is one directory under data_volume with the owner its container needs.
type dataDir struct {
	name string
	uid  int
	mode os.FileMode
}

func dataDirs(flags prepareFlags) []dataDir {
	dirs := []dataDir{
		{"database", uidPostgres, 0o700},
		{"redis", uidPostgres, 0o755},
		{"registry", uidHarbor, 0o755},
		{"job_logs", uidHarbor, 0o755},
		{"ca_download", uidHarbor, 0o755},
		{"psc", uidHarbor, 0o755},
	}
	if flags.chartmuseum {
		dirs = append(dirs, dataDir{"chart_storage", uidHarbor, 0o755})
	}
	return dirs
}

// prepareDataDirs creates the data dirs and fixes their owner, recursively, only when the top
// directory's owner is wrong: restored files keep their owners when the top dir is right.
func prepareDataDirs(env *Env, flags prepareFlags) error {
	for _, d := range dataDirs(flags) {
		if err := ensureOwner(filepath.Join(env.Path(prepareData), d.name), d.uid, d.mode); err != nil {
			return err
		}
	}
	return nil
}

// ensureOwner creates dir owned by uid, or chowns it recursively if its top is not owned by uid.
func ensureOwner(dir string, uid int, mode os.FileMode) error {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, mode); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		return os.Chown(dir, uid, uid)
	}
	if err != nil {
		return fmt.Errorf("checking %s: %w", dir, err)
	}
	if owner(st) == uid {
		return nil
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, uid, uid); err != nil {
			return fmt.Errorf("changing the owner of %s: %w", p, err)
		}
		return nil
	})
}
