package roles

import (
	"fmt"
	"os"
)

// writeConfig2 writes common/config for 2.x: the files of 1.x that the fake roles read, plus
// what 2.x's docker-compose.yml bind-mounts (portal/nginx.conf, shared/trust-certificates) and
// the env files of trivy-adapter and exporter. Contents are the fake's, paths are the real ones.
func writeConfig2(env *Env, line int, s settings2, trivy trivySettings, flags map[string]bool) error {
	files := configFiles(s.settings, prepareFlags{notary: flags["notary"], clair: flags["clair"], chartmuseum: flags["chartmuseum"]})
	for i := range files {
		if files[i].path == "core/env" {
			// 2.x core's env also says whether trivy is installed (templates/core/env.jinja).
			files[i].data += envFile("WITH_TRIVY", fmt.Sprint(flags["trivy"]))
		}
	}
	files = append(files, configFile{path: "portal/nginx.conf", data: "worker_processes auto;\nevents {\n  worker_connections 1024;\n}\nhttp {\n  server {\n    listen 8080;\n  }\n}\n"})
	if flags["clair"] {
		// 2.x's clair reads clair/clair_env (1.x: clair/postgres_env).
		files = append(files, configFile{path: "clair/clair_env", secret: true, data: envFile("POSTGRES_PASSWORD", s.dbPassword)})
	}
	if flags["trivy"] {
		files = append(files, configFile{path: "trivy-adapter/env", secret: true, data: trivyAdapterEnv(line, s, trivy)})
	}
	if s.metric {
		files = append(files, configFile{path: "exporter/env", secret: true, data: envFile(
			"LOG_LEVEL", s.logLevel,
			"HARBOR_EXPORTER_PORT", "8080",
			"HARBOR_EXPORTER_METRICS_PATH", "/metrics",
			"HARBOR_SERVICE_HOST", "core",
			"HARBOR_DATABASE_HOST", "postgresql",
			"HARBOR_DATABASE_PASSWORD", s.dbPassword,
		)})
	}
	if err := writeConfigFiles(env, files); err != nil {
		return err
	}
	// Directories the compose file mounts even when empty; prepare_trust_ca recreates the
	// shared one on every run.
	shared := env.Path(prepareConfig + "/shared/trust-certificates")
	if err := os.RemoveAll(shared); err != nil {
		return err
	}
	for _, d := range []string{shared, env.Path(prepareConfig + "/core/certificates"), env.Path(prepareConfig + "/nginx/conf.d")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}
