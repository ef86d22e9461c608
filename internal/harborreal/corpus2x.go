package harborreal

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// The 2.x corpus: harbor.yml files as administrators of 1.9, 1.10 and every 2.x line have them,
// for the differential test of the 2.x preflight against every release's real `prepare migrate`.
// Each starts from a real default: installer/v1.9.4/harbor.yml, installer/v1.10.0/harbor.yml,
// or a 2.x line's installer/vX/harbor.yml.tmpl (the file install.sh's users copy to harbor.yml;
// it holds no template variables, so its defaults are its text).

// Base files of the 2.x corpus, oldest first: the folder under installer/ and the file in it.
var bases2x = []struct{ release, file string }{
	{"v1.9.4", "harbor.yml"}, {"v1.10.0", "harbor.yml"},
	{"v2.0.6", "harbor.yml.tmpl"}, {"v2.1.6", "harbor.yml.tmpl"}, {"v2.2.4", "harbor.yml.tmpl"}, {"v2.3.5", "harbor.yml.tmpl"},
	{"v2.4.3", "harbor.yml.tmpl"}, {"v2.5.6", "harbor.yml.tmpl"}, {"v2.6.4", "harbor.yml.tmpl"}, {"v2.7.4", "harbor.yml.tmpl"},
	{"v2.8.6", "harbor.yml.tmpl"}, {"v2.9.5", "harbor.yml.tmpl"}, {"v2.10.3", "harbor.yml.tmpl"}, {"v2.11.2", "harbor.yml.tmpl"},
	{"v2.12.4", "harbor.yml.tmpl"}, {"v2.13.5", "harbor.yml.tmpl"}, {"v2.14.4", "harbor.yml.tmpl"}, {"v2.15.2", "harbor.yml.tmpl"},
}

const (
	extDB2x   = `{harbor: {host: pg.corp, port: 5432, db_name: registry, username: harbor, password: "Db-Pa55", ssl_mode: require, max_idle_conns: 2, max_open_conns: 0}}`
	redis2x   = `{host: "redis.corp:6379", password: "R3dis-Secret", registry_db_index: 1, jobservice_db_index: 2, trivy_db_index: 5, idle_timeout_seconds: 30}`
	proxy2x   = `{http_proxy: "http://proxy.corp:3128", https_proxy: "http://proxy.corp:3128", no_proxy: "127.0.0.1,localhost,.corp", components: [core, jobservice, trivy]}`
	storageS3 = `{ca_bundle: /opt/harbor/ca/storage-ca.crt, s3: ` + s3 + `, redirect: {disable: true}}`
)

type recipe2x struct {
	name  string   // "<what>": the case is "<base release>-<what>"
	bases []string // releases of bases2x it is applied to
	why   string
	edits []edit
}

var (
	old2x  = []string{"v1.9.4", "v1.10.0"}
	some2x = []string{"v1.9.4", "v1.10.0", "v2.0.6", "v2.4.3", "v2.8.6", "v2.12.4"}
	late2x = []string{"v2.3.5", "v2.9.5", "v2.13.5"}
)

func corpus2xRecipes() []recipe2x {
	return []recipe2x{
		{"https-certs", some2x, "https with certificate and key under /etc/pki and a custom port",
			[]edit{set("hostname", "registry.corp"), set("https", httpsOut)}},
		{"https-only", []string{"v1.9.4", "v2.2.4", "v2.10.3"}, "https only: the http block removed", []edit{del("http")}},
		{"https-null", []string{"v1.10.0", "v2.6.4"}, "`https:` left without its keys", []edit{set("https", "")}},
		{"https-strong-ciphers", []string{"v2.11.2", "v2.14.4"}, "https with strong_ssl_ciphers enabled", []edit{set("https.strong_ssl_ciphers", "true")}},
		{"external-db", old2x, "external PostgreSQL (1.9/1.10 shape, with clair and notary blocks)",
			[]edit{set("external_database", extDB19), del("database")}},
		{"external-db", []string{"v2.1.6", "v2.7.4", "v2.13.5"}, "external PostgreSQL (2.x shape, harbor only)",
			[]edit{set("external_database", extDB2x), del("database")}},
		{"external-redis", old2x, "external Redis (1.x shape: host and port)", []edit{set("external_redis", redisWith)}},
		{"external-redis", []string{"v2.0.6", "v2.5.6", "v2.11.2"}, "external Redis (2.x shape: host:port)", []edit{set("external_redis", redis2x)}},
		{"external-redis-null-password", []string{"v2.3.5", "v2.14.4"}, "external Redis without auth: `password:` empty",
			[]edit{set("external_redis", `{host: "redis.corp:6379", password: , registry_db_index: 1, jobservice_db_index: 2, trivy_db_index: 5}`)}},
		{"storage-s3", some2x, "S3 storage with a ca_bundle and redirect disabled", []edit{set("storage_service", storageS3)}},
		{"storage-swift", []string{"v1.10.0", "v2.9.5"}, "Swift storage", []edit{set("storage_service", `{swift: `+swift+`}`)}},
		{"storage-redirect-null", []string{"v1.9.4", "v2.4.3", "v2.15.2"}, "`redirect:` uncommented without its key",
			[]edit{set("storage_service", `{filesystem: {maxthreads: 100}, redirect: }`)}},
		{"storage-backend-null", []string{"v2.6.4", "v2.12.4"}, "`filesystem:` uncommented with nothing under it",
			[]edit{set("storage_service", `{filesystem: , redirect: {disable: false}}`)}},
		{"proxy", old2x, "a corporate proxy (1.x components)", []edit{set("proxy", proxy19)}},
		{"proxy", []string{"v2.2.4", "v2.8.6", "v2.14.4"}, "a corporate proxy for core, jobservice and trivy", []edit{set("proxy", proxy2x)}},
		{"proxy-null-components", []string{"v1.10.0", "v2.5.6"}, "proxy with `components:` emptied",
			[]edit{set("proxy.components", "")}},
		{"trivy-tuned", []string{"v2.1.6", "v2.6.4", "v2.10.3", "v2.15.2"}, "trivy with offline scan, insecure and a GitHub token",
			[]edit{set("trivy.offline_scan", "true"), set("trivy.insecure", "true"), set("trivy.github_token", "ghp_exampletoken123")}},
		{"trivy-null", []string{"v2.2.4", "v2.7.4", "v2.13.5"}, "`trivy:` with everything under it removed", []edit{set("trivy", "")}},
		{"trivy-missing", []string{"v2.4.3", "v2.11.2"}, "trivy deleted (installed without --with-trivy)", []edit{del("trivy")}},
		{"metric", []string{"v2.3.5", "v2.9.5", "v2.14.4"}, "metrics enabled on 9091", []edit{set("metric", `{enabled: true, port: 9091, path: /metrics}`)}},
		{"metric-null", []string{"v2.5.6", "v2.12.4"}, "`metric:` uncommented alone", []edit{set("metric", "")}},
		{"notification-null", []string{"v1.10.0", "v2.8.6"}, "`notification:` emptied", []edit{set("notification", "")}},
		{"notification-missing", []string{"v2.6.4", "v2.15.2"}, "notification deleted", []edit{del("notification")}},
		{"cache", []string{"v2.8.6", "v2.12.4"}, "the cache layer enabled", []edit{set("cache", `{enabled: true, expire_hours: 24}`)}},
		{"cache-null", []string{"v2.10.3", "v2.15.2"}, "`cache:` uncommented alone", []edit{set("cache", "")}},
		{"upload-purging", []string{"v2.5.6", "v2.11.2"}, "upload purging tuned", []edit{set("upload_purging", `{enabled: true, age: 72h, interval: 12h, dryrun: false}`)}},
		{"upload-purging-null", []string{"v2.7.4", "v2.13.5"}, "`upload_purging:` emptied", []edit{set("upload_purging", "")}},
		{"log-external-endpoint", []string{"v1.10.0", "v2.3.5", "v2.10.3"}, "syslog forwarding enabled",
			[]edit{set("log.external_endpoint", `{protocol: tcp, host: syslog.corp, port: 5140}`)}},
		{"log-null", []string{"v1.9.4", "v2.4.3", "v2.14.4"}, "`log:` with everything under it removed", []edit{set("log", "")}},
		{"log-missing", []string{"v2.0.6", "v2.9.5"}, "the log section deleted", []edit{del("log")}},
		{"jobservice-null", []string{"v1.10.0", "v2.7.4", "v2.15.2"}, "`jobservice:` emptied", []edit{set("jobservice", "")}},
		{"jobservice-missing", []string{"v2.1.6", "v2.12.4"}, "jobservice deleted", []edit{del("jobservice")}},
		{"database-null", []string{"v1.9.4", "v2.5.6", "v2.13.5"}, "`database:` emptied", []edit{set("database", "")}},
		{"database-pool-1000", []string{"v2.0.6", "v2.2.4"}, "database pool max_open_conns 500, idle 50 (the 2.1/2.3 steps rewrite these)",
			[]edit{set("database.max_open_conns", "500"), set("database.max_idle_conns", "50")}},
		{"database-pool-string", []string{"v2.0.6"}, "max_open_conns written as a string: the 2.1 step's Python compares it with numbers",
			[]edit{set("database.max_open_conns", `"500"`)}},
		{"chart-null", []string{"v1.10.0", "v2.4.3"}, "`chart:` emptied", []edit{set("chart", "")}},
		{"clair-null", []string{"v1.9.4", "v2.1.6"}, "`clair:` emptied", []edit{set("clair", "")}},
		{"internal-tls", []string{"v2.2.4", "v2.10.3"}, "internal TLS enabled", []edit{set("internal_tls", `{enabled: true, dir: /etc/harbor/tls/internal}`)}},
		{"internal-tls-null", late2x, "`internal_tls:` uncommented alone", []edit{set("internal_tls", "")}},
		{"password-colon-space", []string{"v1.9.4", "v2.3.5", "v2.11.2"}, "an admin password with ': ' inside: written unquoted it is not YAML",
			[]edit{set("harbor_admin_password", `'key: value'`)}},
		{"password-star", []string{"v1.10.0", "v2.7.4"}, "a database password starting with '*'", []edit{set("database.password", `'*star'`)}},
		{"password-yaml-words", []string{"v2.0.6", "v2.9.5"}, "passwords that are YAML words unquoted (yes, 0x10)",
			[]edit{set("harbor_admin_password", `'yes'`), set("database.password", `'0x10'`)}},
		{"non-ascii", []string{"v1.9.4", "v2.6.4", "v2.15.2"}, "a non-ASCII hostname and password (Python 3 writes them)",
			[]edit{set("hostname", "régistry.corp"), set("harbor_admin_password", "密码Pa55")}},
		{"hostname-missing", []string{"v1.10.0", "v2.5.6"}, "hostname deleted", []edit{del("hostname")}},
		{"data-volume-custom", []string{"v2.4.3", "v2.13.5"}, "data on another disk and unknown keys added",
			[]edit{set("data_volume", "/srv/harbor-data"), set("x_team_note", "ops")}},
	}
}

// Corpus2x builds the 2.x corpus: every base's default, then every recipe on each of its bases.
func Corpus2x() ([]Case, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	base := map[string][]byte{}
	var out []Case
	for _, b := range bases2x {
		data, err := os.ReadFile(filepath.Join(root, "installer", b.release, b.file))
		if err != nil {
			return nil, fmt.Errorf("corpus2x: the default of %s: %w", b.release, err)
		}
		base[b.release] = data
		out = append(out, Case{Name: b.release + "-default", YAML: data, Why: "the default " + b.file + " of " + b.release + ", installed unchanged"})
	}
	seen := map[string]bool{}
	for _, r := range corpus2xRecipes() {
		for _, rel := range r.bases {
			name := rel + "-" + r.name
			if seen[name] {
				return nil, fmt.Errorf("corpus2x: duplicate case %s", name)
			}
			seen[name] = true
			src, ok := base[rel]
			if !ok {
				return nil, fmt.Errorf("corpus2x: recipe %s: no base %s", r.name, rel)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal(src, &doc); err != nil {
				return nil, fmt.Errorf("corpus2x: parsing the default of %s: %w", rel, err)
			}
			for _, e := range r.edits {
				if err := e(doc.Content[0]); err != nil {
					return nil, fmt.Errorf("corpus2x case %s: %w", name, err)
				}
			}
			var buf bytes.Buffer
			enc := yaml.NewEncoder(&buf)
			enc.SetIndent(2)
			if err := enc.Encode(&doc); err != nil {
				return nil, fmt.Errorf("corpus2x case %s: %w", name, err)
			}
			out = append(out, Case{Name: name, YAML: buf.Bytes(), Why: r.why})
		}
	}
	return out, nil
}
