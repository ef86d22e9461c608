package roles

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

type composeDoc struct {
	Version  string `yaml:"version"`
	Services map[string]struct {
		Image         string   `yaml:"image"`
		ContainerName string   `yaml:"container_name"`
		Restart       string   `yaml:"restart"`
		Volumes       []any    `yaml:"volumes"`
		Ports         []string `yaml:"ports"`
		DependsOn     []string `yaml:"depends_on"`
		EnvFile       []string `yaml:"env_file"`
	} `yaml:"services"`
	Networks map[string]any `yaml:"networks"`
}

// prepareEnv is a prepare container for version with the data volume mounted (1.9+) and a
// harbor.yml made from the real default file of its line.
func prepareEnv(t *testing.T, version, cfgFile string, edits ...string) *testEnv {
	t.Helper()
	e := newTestEnv(t, version)
	// edits come first: strings.Replacer prefers the earliest pair matching at a position.
	yml := strings.NewReplacer(append(append([]string{}, edits...),
		"hostname: reg.mydomain.com", "hostname: harbor.test",
		"port: 80\n", "port: 18080\n",
		"data_volume: /data", "data_volume: /srv/harbor-data",
	)...).Replace(testdata(t, cfgFile))
	e.write(prepareInput, yml)
	if version != "v1.8.6" {
		os.MkdirAll(e.path(prepareData), 0o755)
	}
	return e
}

func readCompose(t *testing.T, e *testEnv) composeDoc {
	t.Helper()
	var doc composeDoc
	if err := yaml.Unmarshal([]byte(e.read(prepareCompose)), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

var httpsOff = []string{"https:\n  # https port", "# https:\n  # https port", "  port: 443\n", "#  port: 443\n",
	"  certificate: /your", "#  certificate: /your", "  private_key: /your", "#  private_key: /your"}

func TestPrepareComposePerFlags(t *testing.T) {
	for _, c := range []struct {
		version, file string
		flags         []string
		components    []string
	}{
		{"v1.10.0", "harbor-v1.10.0.yml", nil, nil},
		{"v1.10.0", "harbor-v1.10.0.yml", []string{"--with-notary", "--with-clair", "--with-chartmuseum"}, []string{release.Notary, release.Clair, release.Chartmuseum}},
		{"v1.9.4", "harbor-v1.9.0.yml", []string{"--with-clair", "--with-chartmuseum"}, []string{release.Clair, release.Chartmuseum}},
		{"v1.8.6", "harbor-v1.8.0.yml", []string{"--with-clair"}, []string{release.Clair}},
	} {
		e := prepareEnv(t, c.version, c.file, httpsOff...)
		if code := e.run(append([]string{"prepare"}, c.flags...)...); code != 0 {
			t.Fatalf("%s %v: exit %d\n%s", c.version, c.flags, code, e.output())
		}
		doc := readCompose(t, e)
		rel, _ := release.Get(c.version)
		var want, got []string
		for _, img := range rel.ImagesFor(c.components...) {
			want = append(want, img.Service+"="+img.Ref()+"@"+img.Container)
		}
		for name, s := range doc.Services {
			got = append(got, name+"="+s.Image+"@"+s.ContainerName)
			if s.Restart != "always" {
				t.Errorf("%s %s: restart %q", c.version, name, s.Restart)
			}
			for _, d := range s.DependsOn {
				if _, ok := doc.Services[d]; !ok {
					t.Errorf("%s %s depends on missing %s", c.version, name, d)
				}
			}
			for _, f := range s.EnvFile {
				if _, err := os.Stat(e.path(prepareConfig + strings.TrimPrefix(f, "./common/config"))); err != nil {
					t.Errorf("%s %s: env_file %s not generated", c.version, name, f)
				}
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s %v: services\n%v\nwant\n%v", c.version, c.flags, got, want)
		}
		if doc.Version != "2.3" || doc.Networks["harbor"] == nil {
			t.Errorf("%s: version %q networks %v", c.version, doc.Version, doc.Networks)
		}
		if p := doc.Services["proxy"].Ports; len(p) != 1 || p[0] != "127.0.0.1:18080:8080" {
			t.Errorf("%s: proxy ports %v", c.version, p)
		}
		if v := doc.Services["postgresql"].Volumes; len(v) != 1 || v[0] != "/srv/harbor-data/database:/var/lib/postgresql/data:z" {
			t.Errorf("%s: postgresql volumes %v", c.version, v)
		}
		core := doc.Services["core"].Volumes
		if !hasBind(core, "/srv/harbor-data/secret/keys/secretkey", "/etc/core/key") {
			t.Errorf("%s: core does not mount the secretkey at /etc/core/key: %v", c.version, core)
		}
		for _, f := range []string{"core/app.conf", "core/env", "db/env", "nginx/nginx.conf", "registry/config.yml", "jobservice/config.yml"} {
			if _, err := os.Stat(e.path(prepareConfig + "/" + f)); err != nil {
				t.Errorf("%s: %s not generated", c.version, f)
			}
		}
		_, err := os.Stat(e.path(prepareConfig + "/clair/config.yaml"))
		if clair := len(c.components) > 0; (err == nil) != clair {
			t.Errorf("%s %v: clair config present = %v", c.version, c.flags, err == nil)
		}
	}
}

func hasBind(volumes []any, source, target string) bool {
	for _, v := range volumes {
		if m, ok := v.(map[string]any); ok && m["type"] == "bind" && m["source"] == source && m["target"] == target {
			return true
		}
	}
	return false
}

func TestPrepareRefuses(t *testing.T) {
	for _, c := range []struct {
		name, version, file string
		edits               []string
		want                string
	}{
		{"placeholder hostname", "v1.10.0", "harbor-v1.10.0.yml", []string{"hostname: reg.mydomain.com", "hostname: reg.mydomain.com"}, "Please specify hostname"},
		{"placeholder hostname 1.9", "v1.9.4", "harbor-v1.9.0.yml", []string{"hostname: reg.mydomain.com", "hostname: reg.mydomain.com"}, "Please specify hostname"},
		{"placeholder certificate", "v1.10.0", "harbor-v1.10.0.yml", nil, "Error: The protocol is https but attribute ssl_cert is not set"},
		{"placeholder key", "v1.10.0", "harbor-v1.10.0.yml", []string{"/your/certificate/path", "/etc/ssl/h.crt"}, "/your/private/key/path"},
		{"1.8 file given to 1.10", "v1.10.0", "harbor-v1.8.0.yml", nil, "KeyError: 'local'"},
	} {
		e := prepareEnv(t, c.version, c.file, c.edits...)
		code := e.run("prepare")
		if code == 0 || !strings.Contains(e.output(), c.want) {
			t.Errorf("%s: exit %d\n%s", c.name, code, e.output())
		}
		if _, err := os.Stat(e.path(prepareCompose)); err == nil {
			t.Errorf("%s: docker-compose.yml written although refused", c.name)
		}
	}
	// 1.10 accepts https with real paths whose files exist on the host (/hostfs).
	e := prepareEnv(t, "v1.10.0", "harbor-v1.10.0.yml", "/your/certificate/path", "/etc/ssl/h.crt", "/your/private/key/path", "/etc/ssl/h.key")
	e.write(hostPath("/etc/ssl/h.crt"), "CERT")
	e.write(hostPath("/etc/ssl/h.key"), "KEY")
	if code := e.run("prepare"); code != 0 {
		t.Errorf("https with real paths: exit %d\n%s", code, e.output())
	}
	e = prepareEnv(t, "v1.10.0", "harbor-v1.10.0.yml", httpsOff...)
	if code := e.run("prepare", "--with-trivy"); code != exitUsage {
		t.Errorf("--with-trivy on 1.10: exit %d", code)
	}
}

func TestPrepareSecretsAndConfig(t *testing.T) {
	e := prepareEnv(t, "v1.10.0", "harbor-v1.10.0.yml", httpsOff...)
	e.write(prepareConfig+"/core/manual-edit", "lost on the next prepare")
	if code := e.run("prepare"); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.output())
	}
	if _, err := os.Stat(e.path(prepareConfig + "/core/manual-edit")); err == nil {
		t.Error("prepare kept a file in common/config")
	}
	key := e.read(secretKeyPath)
	st, _ := os.Stat(e.path(secretKeyPath))
	if len(key) != 16 || st.Mode().Perm() != 0o600 || owner(st) != uidHarbor {
		t.Errorf("secretkey %q mode %v owner %d", key, st.Mode(), owner(st))
	}
	for path, mode := range map[string]os.FileMode{"core/env": 0o600, "db/env": 0o600, "core/app.conf": 0o644, "nginx/nginx.conf": 0o644} {
		st, err := os.Stat(e.path(prepareConfig + "/" + path))
		if err != nil || st.Mode().Perm() != mode || owner(st) != uidHarbor {
			t.Errorf("%s: %v, want mode %v owned by %d", path, err, mode, uidHarbor)
		}
	}
	for _, p := range []string{privateKeyPath, rootCertPath} {
		if _, err := os.Stat(e.path(p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if code := e.run("prepare"); code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, e.output())
	}
	if e.read(secretKeyPath) != key {
		t.Error("prepare replaced an existing secretkey")
	}
}

// Data dirs get their owner only when the top directory's owner is wrong, then recursively;
// with the top right, restored files inside keep theirs.
func TestPrepareChownsOnlyWhenTopIsWrong(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test checks chown and must run as root (as the prepare container does)")
	}
	e := prepareEnv(t, "v1.10.0", "harbor-v1.10.0.yml", httpsOff...)
	data := e.path(prepareData)
	// database restored as root, top included: fixed recursively.
	e.write(prepareData+"/database/PG_VERSION", "9.6\n")
	// registry with the right top but a file inside owned by root: left alone.
	e.write(prepareData+"/registry/docker/blob", "x")
	os.Chown(filepath.Join(data, "registry"), uidHarbor, uidHarbor)
	if code := e.run("prepare", "--with-chartmuseum"); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.output())
	}
	for path, want := range map[string]int{
		"database": uidPostgres, "database/PG_VERSION": uidPostgres, "redis": uidPostgres,
		"registry": uidHarbor, "registry/docker/blob": 0, "registry/docker": 0,
		"job_logs": uidHarbor, "ca_download": uidHarbor, "psc": uidHarbor, "chart_storage": uidHarbor,
	} {
		st, err := os.Stat(filepath.Join(data, path))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if owner(st) != want {
			t.Errorf("%s owned by %d, want %d", path, owner(st), want)
		}
	}
	// 1.8 mounts no data volume: prepare cannot and does not touch the data dirs.
	e = prepareEnv(t, "v1.8.6", "harbor-v1.8.0.yml")
	if code := e.run("prepare"); code != 0 {
		t.Fatalf("1.8: exit %d\n%s", code, e.output())
	}
	if _, err := os.Stat(e.path(prepareData)); err == nil {
		t.Error("1.8's prepare created /data")
	}
}

// What the migrator writes is what the next release's prepare reads: a 1.8 file migrated to
// 1.10 installs; the same file unmigrated does not.
func TestMigratedFileIsPreparable(t *testing.T) {
	in := strings.NewReplacer("hostname: reg.mydomain.com", "hostname: harbor.test", "data_volume: /data", "data_volume: /srv/d").
		Replace(testdata(t, "harbor-v1.8.0.yml"))
	m, code := migrate(t, "v1.10.0", in)
	if code != 0 {
		t.Fatalf("migrating: exit %d\n%s", code, m.output())
	}
	for _, c := range []struct {
		name, yml string
		ok        bool
	}{{"migrated", m.read(migratorInput), true}, {"not migrated", in, false}} {
		e := newTestEnv(t, "v1.10.0")
		e.write(prepareInput, c.yml)
		if code := e.run("prepare"); (code == 0) != c.ok {
			t.Errorf("%s: prepare exit %d\n%s", c.name, code, e.output())
		}
	}
}

// Real prepare (2.0.6's utils/nginx.py, the reference: 1.10's own prepare is not in harbor-real)
// copies the key, then the certificate, from /hostfs into <data>/secret/cert; a file that is not
// there on the host is a FileNotFoundError, exit 1, after common/config was already wiped.
func TestPrepareReadsCertificatesFromTheHost(t *testing.T) {
	edits := []string{"/your/certificate/path", "/opt/harbor/certs/h.crt", "/your/private/key/path", "/opt/harbor/certs/h.key"}
	for _, version := range []string{"v1.9.4", "v1.10.0"} {
		file := map[string]string{"v1.9.4": "harbor-v1.9.0.yml", "v1.10.0": "harbor-v1.10.0.yml"}[version]
		in := testdata(t, file)
		if version == "v1.9.4" {
			in = strings.Replace(in, httpsBlock19, "https:\n  port: 443\n  certificate: /your/certificate/path\n  private_key: /your/private/key/path", 1)
		}
		e := newTestEnv(t, version)
		e.write(prepareInput, strings.NewReplacer(append(edits, "hostname: reg.mydomain.com", "hostname: harbor.test")...).Replace(in))
		os.MkdirAll(e.path(prepareData), 0o755)
		e.write(prepareConfig+"/core/env", "old")
		code := e.run("prepare")
		if code != exitFail || !strings.Contains(e.output(), "No such file or directory: '/hostfs/opt/harbor/certs/h.key'") {
			t.Errorf("%s without the key: exit %d\n%s", version, code, e.output())
		}
		if _, err := os.Stat(e.path(prepareConfig + "/core/env")); err == nil {
			t.Errorf("%s: a failed prepare left common/config as it was; the real one wipes it first", version)
		}
		e.write(hostPath("/opt/harbor/certs/h.key"), "KEY")
		if code := e.run("prepare"); code != exitFail || !strings.Contains(e.output(), "'/hostfs/opt/harbor/certs/h.crt'") {
			t.Errorf("%s without the certificate: exit %d\n%s", version, code, e.output())
		}
		e.write(hostPath("/opt/harbor/certs/h.crt"), "CERT")
		if code := e.run("prepare"); code != 0 {
			t.Fatalf("%s with both: exit %d\n%s", version, code, e.output())
		}
		for name, want := range map[string]string{"server.key": "KEY", "server.crt": "CERT"} {
			p := e.path(prepareData + "/secret/cert/" + name)
			st, err := os.Stat(p)
			if err != nil || e.read(prepareData+"/secret/cert/"+name) != want || st.Mode().Perm() != 0o600 || owner(st) != uidHarbor {
				t.Errorf("%s: %s not copied as real prepare does (0600, uid 10000): %v", version, name, err)
			}
		}
	}
}

// storage_service.ca_bundle is stat'ed by validate(): missing, or unreadable by uid 10000, is a
// validation error (exit 255); a path under /data/ is read in the data volume, any other on the
// host.
func TestPrepareChecksTheCABundle(t *testing.T) {
	withBundle := func(path string) *testEnv {
		e := prepareEnv(t, "v1.10.0", "harbor-v1.10.0.yml", httpsOff...)
		in := e.read(prepareInput) + "\nstorage_service:\n  ca_bundle: " + path + "\n"
		e.write(prepareInput, in)
		return e
	}
	e := withBundle("/etc/pki/storage-ca.pem")
	if code := e.run("prepare"); code != exitValidation || !strings.Contains(e.output(), "Can not get file info") {
		t.Errorf("missing ca_bundle: exit %d\n%s", code, e.output())
	}
	e.write(hostPath("/etc/pki/storage-ca.pem"), "CA")
	os.Chmod(e.path(hostPath("/etc/pki/storage-ca.pem")), 0o600)
	if code := e.run("prepare"); code != exitValidation || !strings.Contains(e.output(), "should be owned by user with uid 10000 or readable by others") {
		t.Errorf("ca_bundle unreadable by 10000: exit %d\n%s", code, e.output())
	}
	os.Chown(e.path(hostPath("/etc/pki/storage-ca.pem")), uidHarbor, uidHarbor)
	if code := e.run("prepare"); code != 0 {
		t.Errorf("ca_bundle owned by 10000: exit %d\n%s", code, e.output())
	}
	e = withBundle("/data/ca/storage-ca.pem")
	e.write(prepareData+"/ca/storage-ca.pem", "CA")
	if code := e.run("prepare"); code != 0 {
		t.Errorf("ca_bundle in the data volume: exit %d\n%s", code, e.output())
	}
}
