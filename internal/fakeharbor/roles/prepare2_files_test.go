package roles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrepare2FilesAndOwners: what 2.x prepare leaves on disk, per utils/*.py: config files
// wiped (files only, directories kept) and written; data dirs created with their owners and
// modes (trivy's only with --with-trivy); the secretkey and token keys under
// <data_volume>/secret created once and kept; a data dir chowned recursively only when its top
// is wrong; docker-compose.yml written.
func TestPrepare2FilesAndOwners(t *testing.T) {
	e := prepare2Env(t, "v2.13.5", line2xYML(t, "v2.13.5", false, true))
	e.write(prepareConfig+"/core/stale.conf", "manual edit\n")
	e.write(prepareConfig+"/custom/keep-dir/old", "x\n")
	if code := e.run("prepare", "prepare", "--with-trivy"); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.output())
	}
	if _, err := os.Stat(e.path(prepareConfig + "/core/stale.conf")); err == nil {
		t.Error("a stale config file survived")
	}
	if st, err := os.Stat(e.path(prepareConfig + "/custom/keep-dir")); err != nil || !st.IsDir() {
		t.Error("delfile removed a directory; real prepare removes files only")
	}
	if !strings.Contains(e.output(), "Clearing the configuration file: /config/core/stale.conf") {
		t.Errorf("no clearing message:\n%s", e.output())
	}
	for _, f := range []string{"core/env", "core/app.conf", "db/env", "jobservice/config.yml", "registry/config.yml",
		"registryctl/env", "nginx/nginx.conf", "portal/nginx.conf", "trivy-adapter/env", "exporter/env", "log/logrotate.conf"} {
		if _, err := os.Stat(e.path(prepareConfig + "/" + f)); err != nil {
			t.Errorf("config %s: %v", f, err)
		}
	}
	if env := e.read(prepareConfig + "/core/env"); !strings.Contains(env, "\nWITH_TRIVY=true\n") {
		t.Errorf("core/env does not say WITH_TRIVY=true:\n%s", env)
	}
	for _, d := range []string{"shared/trust-certificates", "core/certificates"} {
		if st, err := os.Stat(e.path(prepareConfig + "/" + d)); err != nil || !st.IsDir() {
			t.Errorf("config dir %s missing", d)
		}
	}
	for _, d := range []struct {
		name string
		uid  int
		mode os.FileMode
	}{
		{"database", 999, 0o700}, {"redis", 999, 0o755}, {"registry", 10000, 0o755}, {"job_logs", 10000, 0o755},
		{"ca_download", 10000, 0o755}, {"trivy-adapter/trivy", 10000, 0o755}, {"trivy-adapter/reports", 10000, 0o755},
	} {
		st, err := os.Stat(e.path(prepareData + "/" + d.name))
		if err != nil {
			t.Errorf("data dir %s: %v", d.name, err)
			continue
		}
		if owner(st) != d.uid || group(st) != d.uid || st.Mode().Perm() != d.mode {
			t.Errorf("data dir %s: uid %d gid %d mode %o, want %d %o", d.name, owner(st), group(st), st.Mode().Perm(), d.uid, d.mode)
		}
	}
	if _, err := os.Stat(e.path(prepareData + "/psc")); err == nil {
		t.Error("2.x prepare made psc (1.x only)")
	}
	key := e.read(secretKeyPath2)
	pem := e.read(privateKeyPath2)
	if len(key) != 16 {
		t.Fatalf("secretkey %q", key)
	}
	// A second run keeps the secrets; a registry dir restored as root with files inside keeps
	// its files' owners only if the top is right.
	e.write(prepareData+"/registry/docker/blob", "b\n")
	if err := os.Chown(e.path(prepareData+"/registry/docker/blob"), 0, 0); err != nil {
		t.Fatal(err)
	}
	if code := e.run("prepare", "prepare"); code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, e.output())
	}
	if e.read(secretKeyPath2) != key || e.read(privateKeyPath2) != pem {
		t.Error("a second prepare replaced the secretkey or the token key")
	}
	st, _ := os.Stat(e.path(prepareData + "/registry/docker/blob"))
	if owner(st) != 0 {
		t.Error("prepare chowned inside a data dir whose top was right")
	}
	if err := os.Chown(e.path(prepareData+"/registry"), 0, 0); err != nil {
		t.Fatal(err)
	}
	if code := e.run("prepare", "prepare"); code != 0 {
		t.Fatalf("third run: exit %d\n%s", code, e.output())
	}
	st, _ = os.Stat(e.path(prepareData + "/registry/docker/blob"))
	if owner(st) != 10000 {
		t.Error("prepare did not chown recursively a data dir whose top was wrong")
	}
	// A secretkey of another length is refused (get_secret_key), exit 1.
	if err := os.WriteFile(e.path(secretKeyPath2), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := e.run("prepare", "prepare"); code != 1 || !strings.Contains(e.output(), "secret key's length has to be 16 chars, current length: 5") {
		t.Errorf("short secretkey: exit %d\n%s", code, e.output())
	}
	if _, err := os.Stat(filepath.Join(e.path(prepareCompose))); err != nil {
		t.Errorf("no docker-compose.yml: %v", err)
	}
}

// TestPrepare2HTTPSCopiesCertificates: an https harbor.yml makes prepare copy the key and the
// certificate from /hostfs to <data_volume>/secret/cert (utils/nginx.py prepare_nginx_certs)
// and mount that dir into the proxy; a missing file is a FileNotFoundError, exit 1.
func TestPrepare2HTTPSCopiesCertificates(t *testing.T) {
	e := prepare2Env(t, "v2.8.6", line2xYML(t, "v2.8.6", true, false))
	if code := e.run("prepare", "prepare", "--with-notary"); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.output())
	}
	if e.read(prepareData+"/secret/cert/server.crt") != "cert\n" || e.read(prepareData+"/secret/cert/server.key") != "key\n" {
		t.Error("certificates not copied")
	}
	if !strings.Contains(e.read(prepareCompose), "/srv/harbor-data/secret/cert:/etc/cert:z") {
		t.Error("the proxy does not mount secret/cert")
	}
	for _, f := range []string{"notary-signer.crt", "notary-signer.key", "notary-signer-ca.crt"} {
		if _, err := os.Stat(e.path(prepareData + "/secret/notary/" + f)); err != nil {
			t.Errorf("notary %s: %v", f, err)
		}
	}
	if err := os.Remove(e.path(prepareHostfs + "/etc/fake/server.key")); err != nil {
		t.Fatal(err)
	}
	if code := e.run("prepare", "prepare"); code != 1 || !strings.Contains(e.output(), "FileNotFoundError") {
		t.Errorf("missing key: exit %d\n%s", code, e.output())
	}
}
