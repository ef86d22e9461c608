package harborreal

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Case is one harbor.yml of the corpus.
type Case struct {
	Name string // "<release>-<what>", unique
	YAML []byte
	Why  string // what an administrator did to get this file, and what it exercises
}

// edit changes a parsed harbor.yml: set(path, yaml) puts a YAML value at a dotted path
// (creating mappings on the way), del(path) removes a key, comment adds a head comment.
type edit func(root *yaml.Node) error

func set(path, value string) edit {
	return func(root *yaml.Node) error {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(value), &doc); err != nil {
			return fmt.Errorf("value for %s: %w", path, err)
		}
		v := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
		if len(doc.Content) == 1 {
			v = doc.Content[0]
			blockStyle(v)
		}
		keys := strings.Split(path, ".")
		n := root
		for i, k := range keys {
			idx := entry(n, k)
			if i == len(keys)-1 {
				if idx < 0 {
					n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, v)
				} else {
					n.Content[idx+1] = v
				}
				return nil
			}
			if idx < 0 {
				m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, m)
				n = m
				continue
			}
			if n = n.Content[idx+1]; n.Kind != yaml.MappingNode {
				return fmt.Errorf("%s: %s is not a mapping", path, k)
			}
		}
		return nil
	}
}

// blockStyle writes snippets as an administrator would (block style), so that an empty value is
// written `key:` (yaml.v3 writes an empty null inside a flow mapping as ”).
func blockStyle(n *yaml.Node) {
	n.Style &^= yaml.FlowStyle
	for _, c := range n.Content {
		blockStyle(c)
	}
}

func del(path string) edit {
	return func(root *yaml.Node) error {
		keys := strings.Split(path, ".")
		n := root
		for i, k := range keys {
			idx := entry(n, k)
			if idx < 0 {
				return fmt.Errorf("deleting %s: no key %s", path, k)
			}
			if i == len(keys)-1 {
				n.Content = append(n.Content[:idx], n.Content[idx+2:]...)
				return nil
			}
			n = n.Content[idx+1]
		}
		return nil
	}
}

func comment(path, text string) edit {
	return func(root *yaml.Node) error {
		idx := entry(root, path)
		if idx < 0 {
			return fmt.Errorf("commenting %s: no such key", path)
		}
		root.Content[idx].HeadComment = text
		return nil
	}
}

func entry(m *yaml.Node, key string) int {
	if m.Kind != yaml.MappingNode {
		return -1
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// Blocks administrators paste from the commented-out parts of the default harbor.yml.
const (
	extDB18 = `
harbor: {host: pg.corp, port: 5432, db_name: registry, username: harbor, password: "Db-Pa55", ssl_mode: disable}
clair: {host: pg.corp, port: 5432, db_name: clair, username: clair, password: "Cl-Pa55", ssl_mode: disable}
notary_signer: {host: pg.corp, port: 5432, db_name: notarysigner, username: signer, password: "Ns-Pa55", ssl_mode: disable}
notary_server: {host: pg.corp, port: 5432, db_name: notaryserver, username: server, password: "Nv-Pa55", ssl_mode: disable}
`
	extDB19 = `
harbor: {host: pg.corp, port: 5432, db_name: registry, username: harbor, password: "Db-Pa55", ssl_mode: require, max_idle_conns: 2, max_open_conns: 0}
clair: {host: pg.corp, port: 5432, db_name: clair, username: clair, password: "Cl-Pa55", ssl_mode: require}
notary_signer: {host: pg.corp, port: 5432, db_name: notarysigner, username: signer, password: "Ns-Pa55", ssl_mode: require}
notary_server: {host: pg.corp, port: 5432, db_name: notaryserver, username: server, password: "Nv-Pa55", ssl_mode: require}
`
	redisWith    = `{host: redis.corp, port: 6379, password: "R3dis-Secret", registry_db_index: 1, jobservice_db_index: 2, chartmuseum_db_index: 3}`
	redisNoPass  = `{host: redis.corp, port: 6379, registry_db_index: 1, jobservice_db_index: 2, chartmuseum_db_index: 3}`
	redisNullPw  = `{host: redis.corp, port: 6379, password: , registry_db_index: 1, jobservice_db_index: 2, chartmuseum_db_index: 3}`
	redisEmptyPw = `{host: redis.corp, port: 6379, password: "", registry_db_index: 1, jobservice_db_index: 2, chartmuseum_db_index: 3}`
	httpsIn      = `{port: 443, certificate: /opt/harbor/cert/harbor.crt, private_key: /opt/harbor/cert/harbor.key}`
	httpsOut     = `{port: 8443, certificate: /etc/pki/tls/certs/registry.corp.crt, private_key: /etc/pki/tls/private/registry.corp.key}`
	s3           = `{accesskey: AKIAIOSFODNN7EXAMPLE, secretkey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: eu-west-1, regionendpoint: "https://s3.eu-west-1.amazonaws.com", bucket: harbor-blobs, encrypt: false, secure: true, v4auth: true, chunksize: 5242880, rootdirectory: /harbor}`
	azure        = `{accountname: harborstore, accountkey: "bXlBenVyZUFjY291bnRLZXk9PQ==", container: registry, realm: core.windows.net}`
	gcs          = `{bucket: harbor-gcs, keyfile: /opt/harbor/gcs/key.json, rootdirectory: /harbor, chunksize: 5242880}`
	swift        = `{authurl: "https://keystone.corp:5000/v3", username: harbor, password: "Sw1ft-Pass", container: registry, region: RegionOne, tenant: ops, domain: default, secretkey: "sw-secret-key-123", accesskey: "sw-access-key-456", insecureskipverify: false}`
	oss          = `{accesskeyid: LTAI4Fexample, accesskeysecret: "OssSecretValue42", region: oss-cn-hangzhou, endpoint: "", bucket: harbor-oss, internal: false, encrypt: false, secure: true, chunksize: 10M, rootdirectory: /harbor}`
	proxy19      = `{http_proxy: "http://proxy.corp:3128", https_proxy: "http://proxy.corp:3128", no_proxy: "127.0.0.1,localhost,.corp,core,registry", components: [core, jobservice]}`
)

type recipe struct {
	name, release, why string
	edits              []edit
}

func corpusRecipes() []recipe {
	const r18, r19, r110 = "v1.8.6", "v1.9.4", "v1.10.0"
	return []recipe{
		{"v1.8.6-default", r18, "the default harbor.yml of 1.8.6, installed unchanged", nil},
		{"v1.9.4-default", r19, "the default harbor.yml of 1.9.4, installed unchanged", nil},
		{"v1.10.0-default", r110, "the default of 1.10.0: _version already at the target, nothing to migrate", nil},
		{"v1.10.0-non-ascii-at-target", r110, "_version already 1.10.0 with a non-ASCII hostname: nothing is written, so Python 2 never fails",
			[]edit{set("hostname", "registre.société.fr")}},
		{"v1.9.4-version-1.10.0", r19, "a 1.9 file whose _version an administrator already bumped to 1.10.0",
			[]edit{set("_version", "1.10.0")}},

		// https
		{"v1.8.6-https-certs-inside", r18, "https with certificate and key kept inside the install dir (/opt/harbor/cert)",
			[]edit{set("hostname", "registry.corp"), set("https", httpsIn)}},
		{"v1.9.4-https-certs-outside", r19, "https on 8443 with certificate and key under /etc/pki (outside the install dir)",
			[]edit{set("hostname", "registry.corp"), set("https", httpsOut)}},
		{"v1.9.4-https-only", r19, "https only: the http block removed (the issue: bundle refused this, the real code migrates it)",
			[]edit{set("https", httpsIn), del("http")}},
		{"v1.8.6-https-only", r18, "https only on 1.8: the 1.9 template tests `{% if http %}`, which StrictUndefined refuses when http is absent",
			[]edit{set("https", httpsIn), del("http")}},
		{"v1.8.6-http-null", r18, "`http:` left empty on 1.8: falsy, so the 1.9 template drops it and the chain goes on",
			[]edit{set("https", httpsIn), set("http", "")}},
		{"v1.9.4-http-null", r19, "`http:` left empty on 1.9: the 1.10 template reads http.port of None and crashes",
			[]edit{set("https", httpsIn), set("http", "")}},
		{"v1.9.4-https-null", r19, "`https:` uncommented without its keys: the template reads https.port of None",
			[]edit{set("https", "")}},
		{"v1.9.4-https-no-key", r19, "https with a certificate but the private_key line forgotten",
			[]edit{set("https", `{port: 443, certificate: /opt/harbor/cert/harbor.crt}`)}},
		{"v1.9.4-https-null-cert", r19, "https with certificate: left empty (the 1.10 template writes the text None)",
			[]edit{set("https", `{port: 443, certificate: , private_key: /opt/harbor/cert/harbor.key}`)}},
		{"v1.9.4-external-url", r19, "behind a load balancer: external_url set",
			[]edit{set("external_url", "https://registry.corp:8433")}},

		// external database
		{"v1.8.6-external-db", r18, "external PostgreSQL in the 1.8 shape (no max_*_conns): the 1.9 template adds them (the issue: bundle refused this)",
			[]edit{set("external_database", extDB18), del("database")}},
		{"v1.9.4-external-db", r19, "external PostgreSQL in the 1.9 shape with max_idle_conns/max_open_conns",
			[]edit{set("external_database", extDB19), del("database")}},
		{"v1.9.4-external-db-1.8-shape", r19, "a 1.8 external_database block pasted into a 1.9 file: no max_*_conns, which the 1.10 template reads",
			[]edit{set("external_database", extDB18)}},
		{"v1.9.4-external-db-harbor-only", r19, "only the harbor database external (clair and notary blocks left out)",
			[]edit{set("external_database", `{harbor: {host: pg.corp, port: 5432, db_name: registry, username: harbor, password: x, ssl_mode: disable, max_idle_conns: 2, max_open_conns: 0}}`)}},

		// external redis
		{"v1.8.6-external-redis", r18, "external Redis with a password on 1.8",
			[]edit{set("external_redis", redisWith)}},
		{"v1.9.4-external-redis", r19, "external Redis with a password on 1.9",
			[]edit{set("external_redis", redisWith)}},
		{"v1.9.4-external-redis-no-password", r19, "external Redis without auth: the password line left out",
			[]edit{set("external_redis", redisNoPass)}},
		{"v1.9.4-external-redis-null-password", r19, "external Redis without auth: `password:` empty, which the template writes as the text None",
			[]edit{set("external_redis", redisNullPw)}},
		{"v1.8.6-external-redis-null-password", r18, "external Redis without auth on 1.8: None written by the 1.9 step, read back as the text None",
			[]edit{set("external_redis", redisNullPw)}},
		{"v1.9.4-external-redis-empty-password", r19, `external Redis with password: "" (empty string)`,
			[]edit{set("external_redis", redisEmptyPw)}},

		// storage
		{"v1.9.4-storage-filesystem", r19, "filesystem storage with maxthreads, a ca_bundle and redirect enabled",
			[]edit{set("storage_service", `{ca_bundle: /opt/harbor/ca/storage-ca.crt, filesystem: {maxthreads: 100, rootdirectory: /storage}, redirect: {disabled: false}}`)}},
		{"v1.9.4-storage-s3", r19, "S3 storage with access and secret key, redirect disabled",
			[]edit{set("storage_service", `{s3: `+s3+`, redirect: {disabled: true}}`)}},
		{"v1.8.6-storage-s3", r18, "S3 storage on 1.8 with an empty ca_bundle",
			[]edit{set("storage_service", `{ca_bundle: , s3: `+s3+`}`)}},
		{"v1.9.4-storage-azure", r19, "Azure blob storage with an account key",
			[]edit{set("storage_service", `{azure: `+azure+`}`)}},
		{"v1.9.4-storage-gcs", r19, "Google Cloud Storage with a keyfile path inside the install dir",
			[]edit{set("storage_service", `{gcs: `+gcs+`, redirect: {disabled: false}}`)}},
		{"v1.9.4-storage-swift", r19, "OpenStack Swift with password, secretkey and accesskey",
			[]edit{set("storage_service", `{swift: `+swift+`}`)}},
		{"v1.8.6-storage-swift", r18, "OpenStack Swift on 1.8",
			[]edit{set("storage_service", `{swift: `+swift+`}`)}},
		{"v1.9.4-storage-oss", r19, "Alibaba OSS with an access key secret and an empty endpoint",
			[]edit{set("storage_service", `{oss: `+oss+`}`)}},
		{"v1.9.4-storage-redirect-null", r19, "`redirect:` uncommented without `disabled:`: the template reads disabled of None",
			[]edit{set("storage_service", `{s3: `+s3+`, redirect: }`)}},
		{"v1.8.6-storage-redirect-null", r18, "the same null redirect in a 1.8 file (fails in the 1.9 step)",
			[]edit{set("storage_service", `{filesystem: {maxthreads: 100}, redirect: }`)}},
		{"v1.9.4-storage-backend-null", r19, "`filesystem:` uncommented with nothing under it: the template iterates items() of None",
			[]edit{set("storage_service", `{filesystem: , redirect: {disabled: false}}`)}},
		{"v1.9.4-storage-null", r19, "`storage_service:` uncommented alone",
			[]edit{set("storage_service", "")}},
		{"v1.9.4-storage-null-values", r19, "s3 with regionendpoint: and rootdirectory: left empty (written as empty)",
			[]edit{set("storage_service", `{s3: {accesskey: AKIAEXAMPLE2, secretkey: "s3cr3t/key+2", region: us-east-1, bucket: b, regionendpoint: , rootdirectory: }}`)}},

		// proxy
		{"v1.9.4-proxy-components", r19, "a corporate proxy for core and jobservice only",
			[]edit{set("proxy", proxy19)}},
		{"v1.9.4-proxy-null-components", r19, "proxy with `components:` emptied: the template loops over None",
			[]edit{set("proxy", `{http_proxy: "http://proxy.corp:3128", https_proxy: , no_proxy: , components: }`)}},
		{"v1.9.4-proxy-no-components", r19, "proxy with the components list deleted: the template then writes none",
			[]edit{set("proxy", `{http_proxy: "http://proxy.corp:3128", https_proxy: "http://proxy.corp:3128", no_proxy: localhost}`)}},
		{"v1.9.4-proxy-credentials", r19, "proxy URLs carrying user and password",
			[]edit{set("proxy", `{http_proxy: "http://svc-harbor:Pr0xy-Pw@proxy.corp:3128", https_proxy: "http://svc-harbor:Pr0xy-Pw@proxy.corp:3128", no_proxy: "127.0.0.1,localhost", components: [core, jobservice, clair]}`)}},
		{"v1.9.4-proxy-null", r19, "`proxy:` left alone with nothing under it",
			[]edit{set("proxy", "")}},
		{"v1.8.6-clair-proxy-credentials", r18, "1.8 keeps the proxy under clair: the 1.9 template moves it to proxy with components [clair]",
			[]edit{set("clair.http_proxy", `"http://svc:Cl41r-Pw@proxy.corp:3128"`), set("clair.https_proxy", `"http://svc:Cl41r-Pw@proxy.corp:3128"`)}},

		// UAA
		{"v1.9.4-uaa", r19, "UAA with a self-signed CA file", []edit{set("uaa", `{ca_file: /opt/harbor/uaa/ca.pem}`)}},
		{"v1.8.6-uaa", r18, "UAA with a self-signed CA file on 1.8", []edit{set("uaa", `{ca_file: /etc/uaa/ca.pem}`)}},
		{"v1.9.4-uaa-null", r19, "`uaa:` uncommented without ca_file", []edit{set("uaa", "")}},

		// odd passwords
		{"v1.9.4-password-quotes", r19, `passwords holding both quote characters`,
			[]edit{set("harbor_admin_password", `'it''s "Quoted"1'`), set("database.password", `"x'y\"z"`)}},
		{"v1.9.4-password-shell", r19, "passwords with $(), backticks inside and ; (shell metacharacters)",
			[]edit{set("harbor_admin_password", `'Pw$(id)x;y'`), set("database.password", "'a`id`b;c'")}},
		{"v1.9.4-password-backtick-first", r19, "a password starting with a backtick: unquoted it is not YAML",
			[]edit{set("database.password", "'`whoami`'")}},
		{"v1.9.4-password-hash", r19, "a password with ' #': unquoted, the rest becomes a comment",
			[]edit{set("database.password", `'abc #def'`)}},
		{"v1.8.6-password-hash", r18, "a password with ' #' in 1.8",
			[]edit{set("harbor_admin_password", `'Adm1n #1'`)}},
		{"v1.9.4-password-colon-space", r19, "a password with ': ' inside: unquoted, not YAML",
			[]edit{set("harbor_admin_password", `'key: value'`)}},
		{"v1.8.6-password-colon-space", r18, "a password with ': ' inside in 1.8: breaks the 1.9 step's output, which the 1.10 step reads",
			[]edit{set("database.password", `'key: value'`)}},
		{"v1.9.4-password-colons", r19, "a password with colons but no ': '",
			[]edit{set("database.password", `'a:b:c'`)}},
		{"v1.9.4-password-leading-zeros", r19, "a numeric password with leading zeros, quoted: written unquoted it reads as an octal number",
			[]edit{set("database.password", `'007123'`)}},
		{"v1.8.6-password-leading-zeros", r18, "leading zeros through the 1.8 -> 1.9 -> 1.10 chain",
			[]edit{set("database.password", `'00123'`)}},
		{"v1.9.4-password-long", r19, "a 300 character password",
			[]edit{set("harbor_admin_password", strings.Repeat("Ab1-", 75))}},
		{"v1.9.4-password-yaml-words", r19, "passwords that are YAML words when unquoted: yes, null, 0x10, on",
			[]edit{set("harbor_admin_password", `'yes'`), set("database.password", `'null'`),
				set("external_redis", `{host: redis.corp, port: 6379, password: "0x10", registry_db_index: 1, jobservice_db_index: 2, chartmuseum_db_index: 3}`)}},
		{"v1.9.4-password-star", r19, "a password starting with '*' (a YAML alias when unquoted)",
			[]edit{set("database.password", `'*star'`)}},
		{"v1.9.4-password-percent-at", r19, "passwords starting with '%' and '@' (reserved YAML indicators)",
			[]edit{set("database.password", `'%pct'`), set("harbor_admin_password", `'@home'`)}},
		{"v1.9.4-password-brace", r19, "a password like {abc} (a flow mapping when unquoted)",
			[]edit{set("harbor_admin_password", `'{abc}'`)}},

		// non-ASCII
		{"v1.9.4-non-ascii-hostname", r19, "an internationalised hostname (é)", []edit{set("hostname", "régistry.corp")}},
		{"v1.9.4-non-ascii-password", r19, "a password with Chinese characters", []edit{set("database.password", "密码Pa55")}},
		{"v1.8.6-non-ascii-password", r18, "an admin password with é on 1.8", []edit{set("harbor_admin_password", "Motdepassé1")}},
		{"v1.9.4-non-ascii-comment", r19, "non-ASCII only in a comment: the templates drop comments, so this migrates",
			[]edit{comment("hostname", "# 仓库地址 (registry address), géré par l'équipe ops")}},
		{"v1.9.4-non-ascii-unknown-key", r19, "non-ASCII in a key the templates do not read (dropped)",
			[]edit{set("x_team_note", "équipe")}},

		// null and missing sections
		{"v1.9.4-log-missing", r19, "the log section deleted: the 1.10 template writes its defaults", []edit{del("log")}},
		{"v1.9.4-log-null", r19, "`log:` with everything under it removed", []edit{set("log", "")}},
		{"v1.9.4-log-external-endpoint", r19, "syslog forwarding enabled",
			[]edit{set("log.external_endpoint", `{protocol: tcp, host: syslog.corp, port: 5140}`)}},
		{"v1.9.4-log-local-missing", r19, "log with only level (the local block deleted)", []edit{del("log.local")}},
		{"v1.8.6-log-missing", r18, "the log section deleted on 1.8: the 1.9 template reads it unconditionally", []edit{del("log")}},
		{"v1.9.4-jobservice-null", r19, "`jobservice:` emptied", []edit{set("jobservice", "")}},
		{"v1.9.4-jobservice-missing", r19, "jobservice deleted", []edit{del("jobservice")}},
		{"v1.8.6-jobservice-missing", r18, "jobservice deleted on 1.8", []edit{del("jobservice")}},
		{"v1.9.4-notification-null", r19, "`notification:` emptied", []edit{set("notification", "")}},
		{"v1.9.4-notification-missing", r19, "notification deleted", []edit{del("notification")}},
		{"v1.9.4-chart-null", r19, "`chart:` emptied", []edit{set("chart", "")}},
		{"v1.9.4-chart-enabled", r19, "chartmuseum with absolute URLs", []edit{set("chart.absolute_url", "enabled")}},
		{"v1.8.6-chart-missing", r18, "chart deleted on 1.8", []edit{del("chart")}},
		{"v1.9.4-clair-null", r19, "`clair:` emptied", []edit{set("clair", "")}},
		{"v1.9.4-clair-missing-updaters-0", r19, "clair updaters disabled (0) and jobservice workers raised",
			[]edit{set("clair.updaters_interval", "0"), set("jobservice.max_job_workers", "50")}},
		{"v1.8.6-clair-missing", r18, "clair deleted on 1.8 (installed without --with-clair)", []edit{del("clair")}},
		{"v1.8.6-clair-no-proxy-keys", r18, "1.8 clair with only updaters_interval (proxy lines deleted)",
			[]edit{del("clair.http_proxy"), del("clair.https_proxy"), del("clair.no_proxy")}},
		{"v1.9.4-database-missing", r19, "database section deleted: the 1.10 template writes root123", []edit{del("database")}},
		{"v1.9.4-database-null", r19, "`database:` emptied", []edit{set("database", "")}},
		{"v1.9.4-database-no-pool", r19, "database without max_idle_conns/max_open_conns", []edit{del("database.max_idle_conns"), del("database.max_open_conns")}},
		{"v1.9.4-hostname-missing", r19, "hostname deleted", []edit{del("hostname")}},
		{"v1.8.6-hostname-null", r18, "`hostname:` left empty (written as the text None)", []edit{set("hostname", "")}},
		{"v1.9.4-data-volume-custom", r19, "data on another disk, admin password changed, unknown keys added",
			[]edit{set("data_volume", "/srv/harbor-data"), set("harbor_admin_password", "S3cure-Admin!"), set("metric", `{enabled: true}`)}},
		{"v1.9.4-notary-clair-chart", r19, "a full install (--with-notary --with-clair --with-chartmuseum) with every tuning key set",
			[]edit{set("clair.updaters_interval", "6"), set("chart.absolute_url", "enabled"), set("notification.webhook_job_max_retry", "3"),
				set("log.level", "debug"), set("log.local.rotate_count", "7")}},
		{"v1.9.4-comments", r19, "heavily commented file (comments everywhere, all dropped by the templates)",
			[]edit{comment("database", "# DB password rotated 2020-01-01 by ops\n# see ticket OPS-1234"), comment("log", "# keep logs 50 rotations")}},
	}
}

// Corpus builds the harbor.yml corpus from the real default harbor.yml of each release
// (installer/vX.Y.Z/harbor.yml under Root) with each recipe's edits applied through yaml.v3.
func Corpus() ([]Case, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	defaults := map[string][]byte{}
	var out []Case
	seen := map[string]bool{}
	for _, r := range corpusRecipes() {
		if seen[r.name] {
			return nil, fmt.Errorf("corpus: duplicate case %s", r.name)
		}
		seen[r.name] = true
		base, ok := defaults[r.release]
		if !ok {
			if base, err = os.ReadFile(filepath.Join(root, "installer", r.release, "harbor.yml")); err != nil {
				return nil, fmt.Errorf("corpus: the default harbor.yml of %s: %w", r.release, err)
			}
			defaults[r.release] = base
		}
		b := base
		if len(r.edits) > 0 {
			var doc yaml.Node
			if err := yaml.Unmarshal(base, &doc); err != nil {
				return nil, fmt.Errorf("corpus: parsing the default harbor.yml of %s: %w", r.release, err)
			}
			for _, e := range r.edits {
				if err := e(doc.Content[0]); err != nil {
					return nil, fmt.Errorf("corpus case %s: %w", r.name, err)
				}
			}
			var buf bytes.Buffer
			enc := yaml.NewEncoder(&buf)
			enc.SetIndent(2)
			if err := enc.Encode(&doc); err != nil {
				return nil, fmt.Errorf("corpus case %s: %w", r.name, err)
			}
			b = buf.Bytes()
		}
		out = append(out, Case{Name: r.name, YAML: b, Why: r.why})
	}
	return out, nil
}
