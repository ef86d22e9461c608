package roles

import (
	"fmt"
	"net/http"
)

// Roles that came with Harbor 2.x: trivy-adapter-photon (2.0+, --with-trivy), harbor-exporter
// (2.2+) and valkey-photon (2.15's redis: compose service and container "redis").

// trivyDirs are the adapter's cache and reports directories (SCANNER_TRIVY_CACHE_DIR and
// SCANNER_TRIVY_REPORTS_DIR of its env file), mounted from data_volume/trivy-adapter/{trivy,reports}.
var trivyDirs = []string{"/home/scanner/.cache/trivy", "/home/scanner/.cache/reports"}

// The trivy-adapter role itself is in trivy_adapter.go.

// runExporter is harbor-exporter: Prometheus metrics on 8080 (HARBOR_EXPORTER_PORT,
// HARBOR_EXPORTER_METRICS_PATH of its env file).
func runExporter(env *Env, _ []string) int {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP harbor_exporter_up The fake exporter answers.\n# TYPE harbor_exporter_up gauge\nharbor_exporter_up{version=%q} 1\n", env.Version())
	})
	return serve(env, "exporter", env.listenAddr(8080), mux)
}

// valkeyData is valkey's data directory: 2.15.2's compose template mounts
// {{data_volume}}/redis:/var/lib/redis for the redis service running valkey-photon.
const valkeyData = "/var/lib/redis"
