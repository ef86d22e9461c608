package roles

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// The mount points of the real prepare container.
const (
	prepareInput   = "/input/harbor.yml"
	prepareConfig  = "/config"
	prepareCompose = "/compose_location/docker-compose.yml"
	prepareSecret  = "/secret"
	prepareData    = "/data"   // mounted from 1.9 on
	prepareHostfs  = "/hostfs" // the host's / (`-v /:/hostfs`), mounted from 1.9 on
)

// exitValidation is real prepare's exit when validate() raises: sys.exit(-1).
const exitValidation = 255

// validationError is what prepare's validate() refuses: it prints "Error happened in config
// validation..." and exits 255; other failures are python tracebacks, exit 1.
type validationError struct{ msg string }

func (e *validationError) Error() string { return e.msg }

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
	if v := env.Version(); strings.HasPrefix(strings.TrimPrefix(v, "v"), "2.") {
		line, _, err := lineOf(v)
		if err != nil {
			fmt.Fprintln(env.Stderr, err)
			return exitFail
		}
		return runPrepare2(env, line, args)
	}
	flags, err := parsePrepareFlags(args)
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		return exitUsage
	}
	return prepareExit(env, prepare(env, flags))
}

// prepareExit is how every generation's prepare ends: validate()'s refusal as "Error happened
// in config validation..." and exit 255, any other failure (a python traceback) exit 1.
func prepareExit(env *Env, err error) int {
	if err == nil {
		return exitOK
	}
	var v *validationError
	if errors.As(err, &v) {
		fmt.Fprintln(env.Stdout, "Error happened in config validation...")
		fmt.Fprintf(env.Stderr, "ERROR:root:%s\n", v.msg)
		return exitValidation
	}
	fmt.Fprintln(env.Stderr, err)
	return exitFail
}

func prepare(env *Env, flags prepareFlags) error {
	rel, err := release.Get(env.Version())
	if err != nil {
		return fmt.Errorf("reading HARBOR_VERSION: %w", err)
	}
	if err := clearConfig(env); err != nil {
		return err
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
	if err := validate(env, s, rel.ConfigVersion); err != nil {
		return err
	}
	if s.https && readsHostFiles(rel.ConfigVersion) {
		if err := copyNginxCerts(env, s); err != nil {
			return err
		}
	}
	if err := regenerateConfig(env, s, flags); err != nil {
		return err
	}
	if err := prepareSecrets(env); err != nil {
		return err
	}
	if dataMounted(env) {
		if err := makeDataDirs(env, dataDirs(flags), ensureOwner); err != nil {
			return err
		}
	}
	compose, err := composeFile(rel, s, flags)
	if err != nil {
		return err
	}
	return writeCompose(env, compose)
}

// writeCompose is the last step of every generation's prepare: docker-compose.yml (0644, owned
// by whoever runs prepare) and its "Generated" line.
func writeCompose(env *Env, compose []byte) error {
	if err := writeFile(env, prepareCompose, compose, 0o644, -1); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Generated configuration file: %s\n", prepareCompose)
	return nil
}

// readsHostFiles: from 1.9 prepare runs with the host's / at /hostfs and reads the files
// harbor.yml names from there; 1.8's has no such mount (its docker-compose.yml bind-mounts the
// host paths itself, so a missing file shows only when the containers start).
func readsHostFiles(configVersion string) bool { return configVersion != "1.8.0" }

// The placeholder of the default harbor.yml. Real prepare compares the private key with the
// CERTIFICATE's placeholder too (utils/configs.py: default_https_key_path =
// '/your/certificate/path'), so the key placeholder passes validation and fails when copied.
const placeholderCertificate = "/your/certificate/path"

// validate refuses what real prepare's validate() refuses (imitating 2.0.6's utils/configs.py;
// 1.10's prepare is not in harbor-real): the placeholder hostname; from 1.10 an https block
// whose certificate or key is empty or the certificate placeholder; from 1.9 a
// storage_service.ca_bundle that cannot be stat'ed (under /data when it starts with /data/, else
// under /hostfs) or that the registry's uid 10000 cannot read.
func validate(env *Env, s settings, configVersion string) error {
	if s.hostname == "127.0.0.1" {
		return &validationError{"127.0.0.1 can not be the hostname"}
	}
	if s.hostname == "" || s.hostname == "reg.mydomain.com" {
		return &validationError{"Please specify hostname"}
	}
	if configVersion == "1.10.0" && s.https {
		if err := validateHTTPSCert(s); err != nil {
			return err
		}
	}
	if s.caBundle != "" && readsHostFiles(configVersion) {
		return validateCABundle(env, s.caBundle)
	}
	return nil
}

// validateHTTPSCert is validate()'s check of an https block, the same in 1.10 and every 2.x: a
// certificate and a key that are set and not the placeholder.
func validateHTTPSCert(s settings) error {
	if s.certificate == "" || s.certificate == placeholderCertificate {
		return &validationError{"Error: The protocol is https but attribute ssl_cert is not set"}
	}
	if s.privateKey == "" || s.privateKey == placeholderCertificate {
		return &validationError{"Error: The protocol is https but attribute ssl_cert_key is not set"}
	}
	return nil
}

// validateCABundle is validate()'s check of storage_service.ca_bundle, the same from 1.9 on: it
// must stat (under /data when it starts with /data/, else under /hostfs) and be readable by the
// registry's uid 10000 (its owner's read bit when 10000 owns it, else the others' read bit).
func validateCABundle(env *Env, caBundle string) error {
	p := hostPath(caBundle)
	if strings.HasPrefix(caBundle, "/data/") {
		p = caBundle
	}
	st, err := os.Stat(env.Path(p))
	if err != nil {
		fmt.Fprintf(env.Stderr, "ERROR:root:[Errno 2] No such file or directory: '%s'\n", p)
		return &validationError{"Can not get file info"}
	}
	readable := st.Mode().Perm()&0o004 != 0
	if owner(st) == uidHarbor {
		readable = st.Mode().Perm()&0o400 != 0
	}
	if !readable {
		return &validationError{fmt.Sprintf("Cert File %s should be owned by user with uid 10000 or readable by others", caBundle)}
	}
	return nil
}

// hostPath is where prepare sees a host path: under /hostfs.
func hostPath(p string) string { return prepareHostfs + "/" + strings.TrimLeft(p, "/") }

// copyNginxCerts is prepare_nginx_certs: the key, then the certificate, copied from /hostfs to
// <data_volume>/secret/cert/server.{key,crt} (0600, uid 10000). A missing file is python's
// FileNotFoundError, exit 1: the files must exist on the host when install.sh runs.
func copyNginxCerts(env *Env, s settings) error {
	dir := prepareData + "/secret/cert"
	if err := os.RemoveAll(env.Path(dir)); err != nil {
		return err
	}
	for _, f := range []struct{ src, dst string }{{s.privateKey, "server.key"}, {s.certificate, "server.crt"}} {
		src := hostPath(f.src)
		data, err := os.ReadFile(env.Path(src))
		if err != nil {
			return fmt.Errorf("Traceback (most recent call last):\n  File \"/usr/src/app/utils/nginx.py\", in prepare_nginx_certs\nFileNotFoundError: [Errno 2] No such file or directory: '%s'", src)
		}
		if err := writeFile(env, dir+"/"+f.dst, data, 0o600, uidHarbor); err != nil {
			return err
		}
	}
	if err := os.Chmod(env.Path(dir), 0o755); err != nil {
		return err
	}
	return os.Chown(env.Path(dir), uidHarbor, uidHarbor)
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

// makeDataDirs makes each of dirs under /data with mk, the generation's way of making one
// (ensureOwner for 1.x, prepareDir for 2.x).
func makeDataDirs(env *Env, dirs []dataDir, mk func(dir string, uid int, mode os.FileMode) error) error {
	for _, d := range dirs {
		if err := mk(filepath.Join(env.Path(prepareData), d.name), d.uid, d.mode); err != nil {
			return err
		}
	}
	return nil
}

// ensureOwner creates dir owned by uid, or chowns it recursively if its top is not owned by uid:
// restored files keep their owners when the top dir is right.
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
	return chownTree(dir, uid)
}

// chownTree is `chown -R uid:uid dir` without following links.
func chownTree(dir string, uid int) error {
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
