package roles

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// runPrepare2 is the 2.x prepare image, `python3 main.py ARGS` in /usr/src/app: a click group
// with the commands prepare, migrate and gencert. The installer's prepare script runs it as
// `goharbor/prepare:vX prepare --with-...` (Harbor's Makefile, update_prepare_version, puts the
// `prepare` command before `$@`).
func runPrepare2(env *Env, line int, args []string) int {
	if len(args) == 0 {
		// The real group prints its help and exits 0 here. The fake prepares instead: the lead's
		// contract, for prepare scripts that pass no command (see the README's prepare section).
		return runPrepare2Command(env, line, nil)
	}
	switch cmd := args[0]; {
	case cmd == "prepare":
		return runPrepare2Command(env, line, args[1:])
	case cmd == "migrate":
		return runPrepareMigrate(env, args[1:])
	case cmd == "--help":
		fmt.Fprint(env.Stdout, "Usage: main.py [OPTIONS] COMMAND [ARGS]...\n\nOptions:\n  --help  Show this message and exit.\n\nCommands:\n  gencert\n  migrate\n  prepare\n")
		return exitOK
	case strings.HasPrefix(cmd, "-"):
		return clickUsage(env, "main.py", "COMMAND [ARGS]...", "No such option: "+cmd)
	case cmd == "gencert":
		// gencert makes internal TLS certificates with openssl; the fake has none.
		fmt.Fprintln(env.Stderr, "gencert: not supported by the fake prepare (internal TLS)")
		return exitFail
	default:
		return clickUsage(env, "main.py", "COMMAND [ARGS]...", fmt.Sprintf("No such command '%s'.", cmd))
	}
}

// clickUsage is click's UsageError: usage on stderr, exit 2.
func clickUsage(env *Env, prog, rest, msg string) int {
	fmt.Fprintf(env.Stderr, "Usage: %s\nTry '%s --help' for help.\n\nError: %s\n", strings.TrimSpace(prog+" [OPTIONS] "+rest), prog, msg)
	return exitUsage
}

// runPrepare2Command is `main.py prepare [--conf PATH] [--with-<component>...]`.
func runPrepare2Command(env *Env, line int, args []string) int {
	l := prepareLines[line]
	flags := map[string]bool{}
	conf := prepareInput
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--help":
			fmt.Fprintln(env.Stdout, "Usage: main.py prepare [OPTIONS]")
			return exitOK
		case a == "--conf" || strings.HasPrefix(a, "--conf="):
			if v, ok := strings.CutPrefix(a, "--conf="); ok {
				conf = v
			} else if i+1 < len(args) {
				i++
				conf = args[i]
			} else {
				return clickUsage(env, "main.py prepare", "", "Option '--conf' requires an argument.")
			}
		case strings.HasPrefix(a, "--with-") && l.has(strings.TrimPrefix(a, "--with-")):
			flags[strings.TrimPrefix(a, "--with-")] = true
		case strings.HasPrefix(a, "-"):
			return clickUsage(env, "main.py prepare", "", "No such option: "+a+prepareSuggest(l, a))
		default:
			return clickUsage(env, "main.py prepare", "", fmt.Sprintf("Got unexpected extra argument (%s)", a))
		}
	}
	return prepareExit(env, prepare2(env, line, conf, flags))
}

// prepare2 is commands/prepare.py's prepare(): wipe the config files, read and validate
// harbor.yml, write every component's config, the data dirs, the secrets and docker-compose.yml.
func prepare2(env *Env, line int, conf string, flags map[string]bool) error {
	if err := clearConfig2(env); err != nil {
		return err
	}
	data, err := os.ReadFile(env.Path(conf))
	if err != nil {
		return fmt.Errorf("Traceback (most recent call last):\nFileNotFoundError: [Errno 2] No such file or directory: '%s'", conf)
	}
	h, err := parseHarborYML(data)
	if err != nil {
		return err
	}
	s, err := readSettings2(h)
	if err != nil {
		return fmt.Errorf("Traceback (most recent call last):\n  File \"/usr/src/app/utils/configs.py\", in parse_yaml_config\n%w", err)
	}
	if err := validate2(env, s, prepareLines[line], flags); err != nil {
		return err
	}
	if s.https {
		if err := copyNginxCerts(env, s.settings); err != nil {
			return err
		}
	}
	if err := writeConfig2(env, line, s, readTrivySettings(h), flags); err != nil {
		return err
	}
	if err := makeDataDirs(env, dataDirs2(flags), prepareDir); err != nil {
		return err
	}
	if err := prepareSecrets2(env); err != nil {
		return err
	}
	if flags["notary"] {
		if err := prepareNotarySecrets(env); err != nil {
			return err
		}
	}
	compose, err := composeFile2(env.Version(), line, s, flags)
	if err != nil {
		return err
	}
	return writeCompose(env, compose)
}

// clearConfig2 is 2.x's delfile(config_dir): it removes every FILE under /config, recursively,
// and keeps the directories.
func clearConfig2(env *Env) error {
	root := env.Path(prepareConfig)
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		if err := os.Remove(p); err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(env.Stdout, "Clearing the configuration file: %s\n", filepath.Join(prepareConfig, rel))
		return nil
	})
	if err != nil {
		return fmt.Errorf("clearing %s: %w", prepareConfig, err)
	}
	return nil
}

// The data dirs 2.x prepare makes (utils/core.py, db.py, jobservice.py, redis.py, registry.py,
// trivy_adapter.py, chart.py: prepare_dir with these owners; mode 0755 unless said).
func dataDirs2(flags map[string]bool) []dataDir {
	dirs := []dataDir{
		{"ca_download", uidHarbor, 0o755},
		{"registry", uidHarbor, 0o755},
		{"database", uidPostgres, 0o700},
		{"job_logs", uidHarbor, 0o755},
		{"redis", uidPostgres, 0o755},
	}
	if flags["trivy"] {
		dirs = append(dirs, dataDir{"trivy-adapter/trivy", uidHarbor, 0o755}, dataDir{"trivy-adapter/reports", uidHarbor, 0o755})
	}
	if flags["chartmuseum"] {
		dirs = append(dirs, dataDir{"chart_storage", uidHarbor, 0o755})
	}
	return dirs
}

// prepareDir is utils/misc.py prepare_dir: create with mode, else chmod to mode when it differs;
// chown recursively only when the top directory's uid or gid is wrong.
func prepareDir(dir string, uid int, mode os.FileMode) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, mode); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		if err := os.Chmod(dir, mode); err != nil { // mkdir's mode is filtered by the umask
			return err
		}
		if st, err = os.Stat(dir); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("checking %s: %w", dir, err)
	case !st.IsDir():
		return fmt.Errorf("Exception: Path exists and the type is regular file")
	case st.Mode().Perm() != mode:
		if err := os.Chmod(dir, mode); err != nil {
			return err
		}
	}
	if uid < 0 || (owner(st) == uid && group(st) == uid) {
		return nil
	}
	return chownTree(dir, uid)
}

// The secrets of 2.x live in the data volume (there is no /secret mount any more).
const (
	secretKeyPath2  = prepareData + "/secret/keys/secretkey"
	privateKeyPath2 = prepareData + "/secret/core/private_key.pem"
	rootCertPath2   = prepareData + "/secret/registry/root.crt"
)

// prepareSecrets2 is get_secret_key and prepare_registry_ca: the secretkey (16 characters,
// refused otherwise) and the token key pair, each created only when missing, and set to 0600
// and uid 10000 when present (mark_file).
func prepareSecrets2(env *Env) error {
	key, err := os.ReadFile(env.Path(secretKeyPath2))
	switch {
	case err == nil:
		fmt.Fprintf(env.Stdout, "loaded secret from file: %s\n", secretKeyPath2)
		if err := markFile(env, secretKeyPath2, 0o600); err != nil {
			return err
		}
		if len([]rune(string(key))) != 16 {
			return fmt.Errorf("Exception: secret key's length has to be 16 chars, current length: %d", len([]rune(string(key))))
		}
	case errors.Is(err, os.ErrNotExist):
		if err := writeFile(env, secretKeyPath2, []byte(randomString(16)), 0o600, uidHarbor); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Generated and saved secret to file: %s\n", secretKeyPath2)
	default:
		return fmt.Errorf("reading %s: %w", secretKeyPath2, err)
	}
	_, errKey := os.Stat(env.Path(privateKeyPath2))
	_, errCert := os.Stat(env.Path(rootCertPath2))
	if errKey == nil && errCert == nil {
		for _, p := range []string{rootCertPath2, privateKeyPath2} {
			if err := os.Chown(env.Path(p), uidHarbor, uidHarbor); err != nil {
				return err
			}
		}
		return nil
	}
	pem, cert, err := tokenKeyPair()
	if err != nil {
		return err
	}
	if err := writeFile(env, privateKeyPath2, pem, 0o600, uidHarbor); err != nil {
		return err
	}
	return writeFile(env, rootCertPath2, cert, 0o600, uidHarbor)
}

// markFile is utils/misc.py mark_file: chmod, chown 10000:10000.
func markFile(env *Env, path string, mode os.FileMode) error {
	if err := os.Chmod(env.Path(path), mode); err != nil {
		return err
	}
	return os.Chown(env.Path(path), uidHarbor, uidHarbor)
}

// group is the gid owning a file.
func group(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Gid)
	}
	return -1
}

// prepareNotarySecrets is the part of utils/notary.py the compose file needs: the signer's
// certificate, key and CA under <data_volume>/secret/notary, made once and kept.
func prepareNotarySecrets(env *Env) error {
	dir := prepareData + "/secret/notary"
	if _, err := os.Stat(env.Path(dir + "/notary-signer.crt")); err == nil {
		return nil
	}
	key, cert, err := tokenKeyPair()
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"notary-signer-ca.crt", cert}, {"notary-signer.crt", cert}, {"notary-signer.key", key}} {
		if err := writeFile(env, dir+"/"+f.name, f.data, 0o600, uidHarbor); err != nil {
			return err
		}
	}
	return nil
}

// prepareSuggest is click's suggestion for an unknown option of `prepare`, over the command's
// long options (see clickCloseMatches).
func prepareSuggest(l prepareLine, opt string) string {
	if !strings.HasPrefix(opt, "--") {
		return ""
	}
	longs := []string{"--conf", "--help"}
	for _, o := range l.options {
		longs = append(longs, "--with-"+o)
	}
	return clickPossibilities(clickCloseMatches(opt, longs))
}
