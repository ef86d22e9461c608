package roles

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// configFile is one file prepare writes under common/config.
type configFile struct {
	path   string // relative to /config
	data   string
	secret bool // 0600 (it holds a password or a secret), else 0644
}

// clearConfig wipes common/config, the first thing real prepare does on every run (before it
// even reads harbor.yml, so a prepare that then fails leaves it empty): manual edits are lost.
func clearConfig(env *Env) error {
	dir := env.Path(prepareConfig)
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("reading %s: %w", prepareConfig, err)
	}
	for _, e := range entries {
		fmt.Fprintf(env.Stdout, "Clearing the configuration file: %s\n", filepath.Join(prepareConfig, e.Name()))
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("clearing %s: %w", prepareConfig, err)
		}
	}
	return nil
}

// regenerateConfig writes common/config again.
func regenerateConfig(env *Env, s settings, flags prepareFlags) error {
	if err := writeConfigFiles(env, configFiles(s, flags)); err != nil {
		return err
	}
	// core/certificates is mounted as a directory even when empty.
	return os.MkdirAll(filepath.Join(env.Path(prepareConfig), "core", "certificates"), 0o755)
}

// writeConfigFiles writes files under /config as every generation's prepare does: owned by uid
// 10000, 0600 when secret, each announced with a "Generated configuration file" line.
func writeConfigFiles(env *Env, files []configFile) error {
	for _, f := range files {
		mode := os.FileMode(0o644)
		if f.secret {
			mode = 0o600
		}
		p := filepath.Join(prepareConfig, f.path)
		if err := writeFile(env, p, []byte(f.data), mode, uidHarbor); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Generated configuration file: %s\n", p)
	}
	return nil
}

func configFiles(s settings, flags prepareFlags) []configFile {
	coreSecret, jobSecret := randomString(16), randomString(16)
	ext := "http://" + s.hostname
	if s.httpPort != "" && s.httpPort != "80" {
		ext += ":" + s.httpPort
	}
	if s.https {
		// parse_yaml_config's public_url: https, with the port unless it is 443.
		ext = "https://" + s.hostname
		if s.httpsPort != "443" {
			ext += ":" + s.httpsPort
		}
	}
	files := []configFile{
		{path: "core/app.conf", data: "appname = Harbor\nrunmode = prod\nenablegzip = true\n\n[prod]\nhttpport = 8080\n"},
		{path: "core/env", secret: true, data: envFile(
			"CONFIG_PATH", "/etc/core/app.conf",
			"LOG_LEVEL", s.logLevel,
			"EXT_ENDPOINT", ext,
			"POSTGRESQL_HOST", "postgresql",
			"POSTGRESQL_PORT", "5432",
			"POSTGRESQL_USERNAME", "postgres",
			"POSTGRESQL_PASSWORD", s.dbPassword,
			"POSTGRESQL_DATABASE", "registry",
			"REGISTRY_URL", "http://registry:5000",
			"CORE_URL", "http://core:8080",
			"CORE_SECRET", coreSecret,
			"JOBSERVICE_SECRET", jobSecret,
			"HARBOR_ADMIN_PASSWORD", s.adminPassword,
			"WITH_NOTARY", fmt.Sprint(flags.notary),
			"WITH_CLAIR", fmt.Sprint(flags.clair),
			"WITH_CHARTMUSEUM", fmt.Sprint(flags.chartmuseum),
		)},
		{path: "db/env", secret: true, data: envFile("POSTGRES_PASSWORD", s.dbPassword)},
		{path: "jobservice/env", secret: true, data: envFile("CORE_SECRET", coreSecret, "JOBSERVICE_SECRET", jobSecret, "CORE_URL", "http://core:8080")},
		{path: "jobservice/config.yml", data: "protocol: http\nport: 8080\nworker_pool:\n  workers: 10\n  backend: redis\njob_loggers:\n  - name: FILE\n    level: " + strings.ToUpper(s.logLevel) + "\n    settings:\n      base_dir: /var/log/jobs\n"},
		{path: "registry/config.yml", data: "version: 0.1\nlog:\n  level: " + s.logLevel + "\nstorage:\n  filesystem:\n    rootdirectory: /storage\nhttp:\n  addr: :5000\nauth:\n  token:\n    issuer: harbor-token-issuer\n    realm: " + ext + "/service/token\n    rootcertbundle: /etc/registry/root.crt\n    service: harbor-registry\n"},
		{path: "registryctl/env", secret: true, data: envFile("CORE_SECRET", coreSecret, "JOBSERVICE_SECRET", jobSecret)},
		{path: "registryctl/config.yml", data: "protocol: http\nport: 8080\nlog_level: " + s.logLevel + "\n"},
		{path: "nginx/nginx.conf", data: nginxConfFor(s)},
		{path: "log/logrotate.conf", data: "/var/log/docker/*.log {\n    rotate 50\n    size 200M\n    copytruncate\n    compress\n    missingok\n    nodateext\n}\n"},
		{path: "log/rsyslog_docker.conf", data: "# Rsyslog configuration file for docker.\ntemplate(name=\"DynaFile\" type=\"string\" string=\"/var/log/docker/%programname%.log\")\nif $programname != \"rsyslogd\" then {\n  action(type=\"omfile\" dynaFile=\"DynaFile\")\n}\n"},
	}
	if flags.clair {
		files = append(files,
			configFile{path: "clair/config.yaml", secret: true, data: "clair:\n  database:\n    type: pgsql\n    options:\n      source: postgresql://postgres:" + s.dbPassword + "@postgresql:5432?sslmode=disable\n  api:\n    port: 6060\n    healthport: 6061\n"},
			configFile{path: "clair/postgres_env", secret: true, data: envFile("POSTGRES_PASSWORD", s.dbPassword)},
			configFile{path: "clair-adapter/env", secret: true, data: envFile("SCANNER_CLAIR_URL", "http://clair:6060")},
		)
	}
	if flags.notary {
		files = append(files,
			configFile{path: "notary/server-config.postgres.json", data: `{"server": {"http_addr": ":4443"}, "storage": {"backend": "postgres", "db_url": "postgres://server:password@postgresql:5432/notaryserver?sslmode=disable"}}` + "\n"},
			configFile{path: "notary/signer-config.postgres.json", data: `{"server": {"grpc_addr": ":7899"}, "storage": {"backend": "postgres", "db_url": "postgres://signer:password@postgresql:5432/notarysigner?sslmode=disable"}}` + "\n"},
			configFile{path: "notary/server_env", secret: true, data: envFile("MIGRATIONS_PATH", "migrations/server/postgresql")},
			configFile{path: "notary/signer_env", secret: true, data: envFile("NOTARY_SIGNER_DEFAULTALIAS", "defaultalias")},
		)
	}
	if flags.chartmuseum {
		files = append(files, configFile{path: "chartserver/env", secret: true, data: envFile(
			"PORT", "9999", "STORAGE", "local", "STORAGE_LOCAL_ROOTDIR", "/chart_storage", "BASIC_AUTH_PASS", coreSecret)})
	}
	return files
}

// envFile formats KEY=value lines for docker-compose's env_file.
func envFile(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "%s=%s\n", kv[i], kv[i+1])
	}
	return b.String()
}

// nginxConf is the proxy's configuration; the fake proxy reads its listen port and its upstream
// from it, so a prepare that wrote the wrong file would show.
const nginxConf = `worker_processes auto;

events {
  worker_connections 1024;
}

http {
  upstream core {
    server core:8080;
  }

  server {
    listen 8080;
    server_tokens off;
    client_max_body_size 0;

    location / {
      proxy_pass http://core/;
    }
  }
}
`
